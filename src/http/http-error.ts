import { STATUS_CODES } from "node:http";

export interface HttpErrorOptions {
  /** Extra response headers, e.g. `Allow` on a 405 or `WWW-Authenticate` on a 401. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * Thrown anywhere in a handler or middleware, it becomes a response with its status and
 * a JSON body `{ error, message, details?, requestId }`.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, message?: string, details?: unknown, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be an integer from 400 to 599, got ${status}`);
    }
    super(message ?? STATUS_CODES[status] ?? "Error", { cause: options.cause });
    this.name = "HttpError";
    this.status = status;
    this.details = details;
    this.headers = options.headers ?? {};
  }

  /** Same as `status`, under the name Node's own responses use. */
  get statusCode(): number {
    return this.status;
  }
}

export function isHttpError(value: unknown): value is HttpError {
  return value instanceof HttpError;
}
