import { STATUS_CODES } from "node:http";
import type { HttpError } from "./http-error.js";
import { RequestValidationError } from "./request-validation-error.js";
import { UnsupportedMediaTypeError } from "./unsupported-media-type.js";
import { ValidationError } from "./validation-error.js";

/** RFC 9457's media type: JSON, so UTF-8 by definition (it takes no charset parameter). */
export const PROBLEM_JSON = "application/problem+json";

/**
 * The RFC 9457 problem document of an error answered as one (a ValidationError, a 415), or
 * undefined for every other error, whose body stays sluice's `{ error, message, requestId }`.
 * `type` is `about:blank`: the status says what the problem is, `detail` and the extension
 * members (`issues`, `accepted`) say what to fix.
 */
export function problemDetails(
  error: HttpError,
  requestId: string,
): Record<string, unknown> | undefined {
  if (error instanceof ValidationError) {
    return { ...problemHead(error), issues: locatedIssues(error), requestId };
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return { ...problemHead(error), accepted: error.accepted, requestId };
  }
  return undefined;
}

function problemHead(error: HttpError) {
  return {
    type: "about:blank",
    title: STATUS_CODES[error.status] ?? "Error",
    status: error.status,
    detail: error.message,
  };
}

/** Each issue with where it is: the request part, or the target of a handler's own error. */
function locatedIssues(error: ValidationError) {
  if (error instanceof RequestValidationError) return error.located;
  return error.issues.map((issue) => ({ in: error.target, ...issue }));
}
