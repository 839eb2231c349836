import { HttpError } from "../http/http-error.js";
import type { SluiceRequest } from "../http/request.js";
import { logSafely } from "../util/logger.js";
import { CloseCode, closeCodeForHttpStatus, fitCloseReason } from "./close-codes.js";
import type { HandlerCount } from "./handler-count.js";
import { KEEP_OPEN } from "./keep-open.js";
import { wasReported } from "./send-encoder.js";
import type { SluiceWebSocket } from "./sluice-websocket.js";
import { WebSocketClosedError } from "./socket-close.js";

/**
 * Runs a handler for the life of its socket, counted in `sessions` while it runs. When it
 * returns, the socket is closed with 1000 (unless it returned `socket.keepOpen()`: the socket
 * then stays open, with no handler to wait for); when it throws, the error is logged with the
 * request id and the socket closed with 1011. An `HttpError` is a refusal the handler chose,
 * not a crash: the socket is closed with 4000 + its status (403 -> 4403) and its message as
 * the reason, logged without a stack. A handler that fails only because its socket went
 * away (a send after the close, its signal's abort) is not an error.
 */
export function runSession(
  handler: (socket: SluiceWebSocket, request: SluiceRequest) => unknown,
  socket: SluiceWebSocket,
  request: SluiceRequest,
  sessions: HandlerCount,
): void {
  sessions.started();
  let returned: unknown;
  try {
    returned = handler(socket, request);
  } catch (error) {
    sessionFailed(socket, sessions, error);
    return;
  }
  // `.then()` rather than an async function that awaits the handler: an idle socket's handler
  // may wait for hours, and an async function's frame (its generator, registers and await
  // closures) costs more than two closures.
  if (returned === KEEP_OPEN) {
    sessions.ended();
    return;
  }
  Promise.resolve(returned).then(
    (value) => (value === KEEP_OPEN ? sessions.ended() : afterPendingSends(socket, sessions)),
    (error: unknown) => sessionFailed(socket, sessions, error),
  );
}

/** Closes once the sends still waiting for an async `send` check went out (see sendsPending). */
function afterPendingSends(socket: SluiceWebSocket, sessions: HandlerCount): void {
  const pending = socket.sendsPending;
  if (pending === undefined) sessionReturned(socket, sessions);
  else pending.then(() => afterPendingSends(socket, sessions));
}

function sessionReturned(socket: SluiceWebSocket, sessions: HandlerCount): void {
  try {
    socket.close(CloseCode.normal);
  } finally {
    sessions.ended();
  }
}

function sessionFailed(socket: SluiceWebSocket, sessions: HandlerCount, error: unknown): void {
  try {
    closeAfterFailure(socket, socket.request, error);
  } finally {
    sessions.ended();
  }
}

function closeAfterFailure(socket: SluiceWebSocket, request: SluiceRequest, error: unknown): void {
  if (socket.readyState !== 1 && isClosingError(error, request)) {
    logSafely(
      request.log,
      "debug",
      { err: error },
      "WebSocket handler stopped after its socket closed",
    );
    return;
  }
  if (error instanceof HttpError) {
    closeAsRefused(socket, request, error);
    return;
  }
  if (wasReported(error)) {
    // A send refused by its schema: logged when it was refused, with its issues.
    logSafely(
      request.log,
      "debug",
      {},
      "WebSocket handler let a refused send through; closed with 1011",
    );
    socket.close(CloseCode.internalError, "Internal error");
    return;
  }
  // A socket the peer already closed keeps its close code: say so rather than claim a 1011.
  const message =
    socket.readyState === 1
      ? "WebSocket handler failed; socket closed with 1011"
      : "WebSocket handler failed after its socket closed";
  logSafely(request.log, "error", { err: error }, message);
  socket.close(CloseCode.internalError, "Internal error");
}

/**
 * A thrown HttpError closes with 4000 + status and its message (it is the client's answer,
 * as it would be an HTTP body), logged like an HTTP refusal: no stack; info for a 4xx, warn
 * for a 5xx (the server could not serve, though it knew why).
 */
function closeAsRefused(socket: SluiceWebSocket, request: SluiceRequest, error: HttpError): void {
  const code = closeCodeForHttpStatus(error.status);
  const open = socket.readyState === 1;
  logSafely(
    request.log,
    error.status >= 500 ? "warn" : "info",
    { status: error.status, code, reason: error.message },
    open
      ? `WebSocket handler refused with HttpError ${error.status}; socket closed with ${code}`
      : `WebSocket handler refused with HttpError ${error.status} after its socket closed`,
  );
  socket.close(code, fitCloseReason(error.message));
}

function isClosingError(error: unknown, request: SluiceRequest): boolean {
  if (error instanceof WebSocketClosedError) return true;
  if (error === request.signal.reason) return true;
  return error instanceof Error && error.name === "AbortError";
}
