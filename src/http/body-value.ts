import { declaresBody, parseJsonBody } from "./body.js";
import { HttpError } from "./http-error.js";
import type { SluiceRequest } from "./request.js";
import { ACCEPTED_BODY_TYPES, bodyKindOf, formRecord } from "./request-parts.js";
import { RequestValidationError } from "./request-validation-error.js";
import { UnsupportedMediaTypeError } from "./unsupported-media-type.js";

/**
 * @internal The request's body as the value a `body` schema validates: undefined when there
 * is none (no body, or `content-length: 0`), so an optional schema passes; JSON (`application/
 * json`, `+json`) parsed with the safe parser; a form (`application/x-www-form-urlencoded`) as
 * a record. Before any schema runs: 415 for another media type (nothing is read), 413 past
 * `bodyLimit` (read no further), and JSON that does not parse or holds `__proto__` is a
 * ValidationError of the body, answered as the schema's own failures are.
 */
export function bodyValue(request: SluiceRequest): undefined | Promise<unknown> {
  if (!declaresBody(request.raw)) return undefined;
  const contentType = request.raw.headers["content-type"];
  const kind = bodyKindOf(contentType);
  if (kind === undefined) throw new UnsupportedMediaTypeError(contentType, ACCEPTED_BODY_TYPES);
  return request.bytes().then((bytes) => {
    // A chunked body may still turn out empty.
    if (bytes.length === 0) return undefined;
    if (kind === "form") return formRecord(new URLSearchParams(bytes.toString("utf8")));
    return parsedJson(bytes);
  });
}

function parsedJson(bytes: Buffer): unknown {
  try {
    return parseJsonBody(bytes);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    const issue = { path: "", pointer: "", message: error.message };
    throw new RequestValidationError([{ part: "body", issues: [issue], total: 1 }], {
      cause: error,
    });
  }
}
