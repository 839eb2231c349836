import { CloseCode } from "./close-codes.js";

/** How a WebSocket connection ended: the close code and reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Thrown by `send()` on a socket that is closing or closed. */
export class WebSocketClosedError extends Error {
  constructor(readonly socketId: string) {
    super(`WebSocket ${socketId} is closed; the message was not sent`);
    this.name = "WebSocketClosedError";
  }
}

/**
 * A rejection that awaiting callers see, but that is already handled: a fire-and-forget
 * broadcast (`for (const s of sockets) s.send(m)`) that reaches a socket closing at that
 * moment must not become an unhandled rejection that ends the process.
 */
export function refusedAsClosed(socketId: string): Promise<void> {
  const refused = Promise.reject(new WebSocketClosedError(socketId));
  refused.catch(() => {});
  return refused;
}

/**
 * What `closed` reports: the peer's close frame when there was one; otherwise (the peer
 * dropped the connection, or never answered ours) the close frame this side sent; 1006
 * when neither side sent one.
 */
export function closeOutcome(code: number, reason: string, sent: CloseInfo | undefined): CloseInfo {
  const peerSentNone = code === CloseCode.abnormal || code === CloseCode.noStatus;
  // A peer answering our close often echoes the code alone (browsers, undici): keep our reason.
  const peerEchoed = sent !== undefined && code === sent.code && reason === "";
  if (sent && (peerSentNone || peerEchoed)) return sent;
  return { code, reason };
}

/**
 * The code ws closes with after a protocol error: the one it attaches to the error (under a
 * symbol of its own), else what its error code says.
 */
export function closeCodeForError(error: Error & { code?: string }): number {
  const symbol = Object.getOwnPropertySymbols(error).find(
    (key) => key.description === "status-code",
  );
  const attached = symbol ? (error as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof attached === "number") return attached;
  switch (error.code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
    case "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH":
      return CloseCode.messageTooBig;
    case "WS_ERR_INVALID_UTF8":
      return CloseCode.invalidPayload;
    case "WS_ERR_TOO_MANY_BUFFERED_PARTS":
      return CloseCode.policyViolation;
    default:
      return CloseCode.protocolError;
  }
}
