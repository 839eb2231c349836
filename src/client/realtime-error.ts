import type { ErrorCode } from "../protocol/frames.js";

/**
 * A refusal or failure from a real-time endpoint, or from the client's own waiting: `code` is
 * one of docs/protocol.md's error codes (`"forbidden"`, `"not_found"`, `"invalid"`,
 * `"timeout"`, `"unavailable"`, `"internal"`).
 */
export class RealtimeError extends Error {
  override readonly name = "RealtimeError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
