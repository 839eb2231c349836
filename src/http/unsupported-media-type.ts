import { HttpError } from "./http-error.js";

/**
 * @internal A body in a media type the route does not read: 415, answered as
 * `application/problem+json` with the types it accepts (send-error.ts).
 */
export class UnsupportedMediaTypeError extends HttpError {
  readonly accepted: readonly string[];

  constructor(received: string | undefined, accepted: readonly string[]) {
    const what =
      received === undefined ? "A body with no Content-Type" : `Content-Type ${received}`;
    super(415, `${what} is not accepted here; send ${accepted.join(", ")}`);
    this.name = "UnsupportedMediaTypeError";
    this.accepted = accepted;
  }
}
