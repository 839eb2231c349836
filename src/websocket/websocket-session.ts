import type { SluiceRequest } from "../http/request.js";
import { CloseCode } from "./close-codes.js";
import { type SluiceWebSocket, WebSocketClosedError } from "./sluice-websocket.js";

/**
 * Runs a handler for the life of its socket. When it returns, the socket is closed with 1000;
 * when it throws, the error is logged with the request id and the socket closed with 1011.
 * A handler that fails only because its socket went away (a send after the close, its
 * signal's abort) is not an error.
 */
export async function runSession(
  handler: (socket: SluiceWebSocket, request: SluiceRequest) => unknown,
  socket: SluiceWebSocket,
  request: SluiceRequest,
): Promise<void> {
  try {
    await handler(socket, request);
    socket.close(CloseCode.normal);
  } catch (error) {
    if (socket.readyState !== 1 && isClosingError(error, request)) {
      request.log.debug({ err: error }, "WebSocket handler stopped after its socket closed");
      return;
    }
    request.log.error({ err: error }, "WebSocket handler failed; socket closed with 1011");
    socket.close(CloseCode.internalError, "Internal error");
  }
}

function isClosingError(error: unknown, request: SluiceRequest): boolean {
  if (error instanceof WebSocketClosedError) return true;
  if (error === request.signal.reason) return true;
  return error instanceof Error && error.name === "AbortError";
}
