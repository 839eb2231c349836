import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { logSafely } from "../util/logger.js";
import { lingerBeforeClosing } from "./lingering-close.js";

/** Status for errors Node's HTTP parser raises before a request reaches the app. */
function statusFor(code: string | undefined): string {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return "431 Request Header Fields Too Large";
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return "413 Payload Too Large";
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "408 Request Timeout";
    default:
      return "400 Bad Request";
  }
}

/**
 * Answers a request the parser rejected (malformed line, headers or body, oversized head, a
 * client too slow to send its request) with a status and closes the connection; never throws.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  logger: Logger,
): void {
  logSafely(
    logger,
    "debug",
    { code: error.code, message: error.message },
    "rejected a malformed or slow request",
  );
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const answering = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (answering) {
    // With a request still being answered on this connection (pipelining), a status line now
    // would land inside that response or be taken as its answer: the connection is cut.
    if (!failsOwnBody(answering)) {
      socket.destroy();
      return;
    }
    // The error is in the body of the request being answered (bad chunked framing, a body
    // sent slower than requestTimeout) and its answer has not begun: this status is its
    // answer. The handler's own, later answer must not follow it onto the wire.
    answering.detachSocket(socket);
    // Detached, the response no longer hears its connection close (Node relays that): relay
    // it, so the request's signal still aborts when the client goes.
    socket.once("close", () => answering.emit("close"));
  }
  const status = statusFor(error.code);
  const body = JSON.stringify({ error: status.slice(4), message: error.message });
  // Nothing more from this connection may become a request: after a 408 the parser is still
  // healthy, and the rest of a slow head or body (or a request after it) would be served.
  socket.removeAllListeners("data");
  socket.on("data", discard);
  lingerBeforeClosing(socket);
  socket.write(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // FIN, keep discarding until the client closes its side or the linger ends, then close for
  // good: a half-open client must not hold the connection (and a handler waiting on it).
  socket.destroySoon();
}

/** True when the response has not started and its request's body is still being received. */
function discard(): void {}

function failsOwnBody(response: ServerResponse): boolean {
  return !response.headersSent && response.req !== undefined && !response.req.complete;
}
