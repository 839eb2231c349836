import type { Socket } from "node:net";
import type { Logger } from "pino";

/** Status for errors Node's HTTP parser raises before a request reaches the app. */
function statusFor(code: string | undefined): string {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return "431 Request Header Fields Too Large";
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return "408 Request Timeout";
    default:
      return "400 Bad Request";
  }
}

/**
 * Answers a request the parser rejected (malformed line or headers, oversized head, a client
 * too slow to send its head) with a status and closes the connection; never throws.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  logger: Logger,
): void {
  logger.debug(
    { code: error.code, message: error.message },
    "rejected a malformed or slow request",
  );
  // With a request still being answered on this connection (pipelining), a status line now
  // would land inside that response or be taken as its answer: the connection is cut instead.
  const answering = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || answering) {
    socket.destroy();
    return;
  }
  const status = statusFor(error.code);
  const body = JSON.stringify({ error: status.slice(4), message: error.message });
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
