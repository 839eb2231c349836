import { HttpError } from "../http/http-error.js";
import { ValidationError } from "../http/validation-error.js";
import type { ErrorBody, ErrorCode } from "../protocol/frames.js";

/** A request the endpoint answers with an error reply of this code (never a closed socket). */
export class ReplyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ReplyError";
  }
}

/** The codes of the statuses a method's HttpError may carry (docs/protocol.md, "Calls"). */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: "invalid",
  403: "forbidden",
  404: "not_found",
  422: "invalid",
  503: "unavailable",
  504: "timeout",
};

/**
 * The error body of a failed request: a ReplyError's own, a ValidationError's message and
 * issues (`invalid`), an HttpError's message with the code of its status, or, for anything else, `internal` with `fallback` as the message (the error
 * itself is for the server's log, not the client).
 */
export function errorBodyOf(error: unknown, fallback: string): ErrorBody {
  if (error instanceof ReplyError) return { code: error.code, message: error.message };
  if (error instanceof ValidationError) {
    return { code: "invalid", message: error.message, issues: [...error.issues] };
  }
  if (error instanceof HttpError) {
    return { code: CODE_OF_STATUS[error.status] ?? "internal", message: error.message };
  }
  return { code: "internal", message: fallback };
}

/** True when the error is the app's or the protocol's own answer, not a failure to log. */
export function isAnswer(error: unknown): boolean {
  return error instanceof ReplyError || error instanceof HttpError;
}
