import type { ErrorBody, ErrorCode, ErrorIssue } from "../protocol/frames.js";

/**
 * A refusal or failure from a real-time endpoint, or from the client's own waiting: `code` is
 * one of docs/protocol.md's error codes (`"forbidden"`, `"not_found"`, `"invalid"`,
 * `"timeout"`, `"unavailable"`, `"internal"`). An `invalid` refusal of data or params by the
 * endpoint's contract carries `issues`: each field at fault (`path`, `pointer`) and the rule
 * it broke (`message`), at most 100.
 */
export class RealtimeError extends Error {
  override readonly name = "RealtimeError";
  readonly code: ErrorCode;
  readonly issues?: readonly ErrorIssue[];

  constructor(code: ErrorCode, message: string, issues?: readonly ErrorIssue[]) {
    super(message);
    this.code = code;
    if (issues) this.issues = issues;
  }
}

/** @internal The error of an error reply, its issues kept. */
export function replyError(body: ErrorBody): RealtimeError {
  return new RealtimeError(body.code, body.message, body.issues);
}
