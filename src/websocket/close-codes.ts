import { CLOSE_EXPIRED } from "../protocol/frames.js";

/**
 * Close codes sluice sends (RFC 6455 §7.4.1, IANA registry). Besides these, a handler that
 * throws an `HttpError` closes with 4000 + its status (4400-4599).
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  /** Never sent on the wire: the peer closed without a code. */
  noStatus: 1005,
  /** Never sent on the wire: the connection dropped without a closing handshake. */
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  /**
   * The credentials of the upgrade request expired (bearerAuth's `expiresAt`, a JWT's `exp`)
   * and were not refreshed: reconnect with fresh ones.
   */
  credentialsExpired: CLOSE_EXPIRED,
} as const;

/** Codes an application may send in a close frame: the defined ones, and 3000-4999. */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

const MAX_REASON_BYTES = 123;

/**
 * The close code for an `HttpError` a handler threw after the upgrade: 4000 + its status
 * (403 -> 4403, 503 -> 4503). HttpError statuses are 400-599, so every one lands in
 * 4400-4599, inside the 4000-4999 range RFC 6455 leaves to applications.
 */
export function closeCodeForHttpStatus(status: number): number {
  return 4000 + status;
}

/**
 * A close reason that fits the 123 bytes a close frame allows: longer text is cut at the last
 * whole UTF-8 character that fits, never in the middle of one.
 */
export function fitCloseReason(reason: string): string {
  const bytes = Buffer.from(reason, "utf8");
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  let end = MAX_REASON_BYTES;
  // Back off over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

/** Checks what `close(code, reason)` was given, with a message that says what is wrong. */
export function checkCloseArguments(code: number, reason: string): void {
  if (!isSendableCloseCode(code)) {
    throw new TypeError(
      `WebSocket close code must be 1000-1014 (not 1004-1006) or 3000-4999, got ${String(code)}`,
    );
  }
  if (typeof reason !== "string") {
    throw new TypeError(`WebSocket close reason must be a string, got ${typeof reason}`);
  }
  if (Buffer.byteLength(reason) > MAX_REASON_BYTES) {
    throw new RangeError(
      `WebSocket close reason must fit in ${MAX_REASON_BYTES} bytes of UTF-8, got ${Buffer.byteLength(reason)}`,
    );
  }
}
