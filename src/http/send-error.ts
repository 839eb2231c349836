import { type ServerResponse, STATUS_CODES } from "node:http";
import { HttpError } from "./http-error.js";
import type { SluiceRequest } from "./request.js";

/**
 * Answers a failed request. An HttpError keeps its status and message; anything else is a
 * 500 whose body names the request id (to find the log line) but never the error's text.
 * Once headers are out, the only honest answer is to cut the response short.
 */
export function sendError(
  request: SluiceRequest,
  response: ServerResponse,
  error: unknown,
  extraHeaders: Record<string, string>,
): void {
  const httpError = error instanceof HttpError ? error : undefined;
  if (!httpError) {
    request.log.error({ err: error }, "request failed");
  } else if (httpError.status >= 500) {
    request.log.warn({ status: httpError.status, message: httpError.message }, "request refused");
  } else {
    request.log.debug({ status: httpError.status, message: httpError.message }, "request refused");
  }
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const status = httpError?.status ?? 500;
  const body: Record<string, unknown> = {
    error: STATUS_CODES[status] ?? "Error",
    message: httpError ? httpError.message : "Internal Server Error",
    requestId: request.id,
  };
  if (httpError?.details !== undefined) body.details = httpError.details;
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    ...httpError?.headers,
    ...extraHeaders,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
  };
  // A refused body is left unread: close the connection rather than read the rest of it.
  if (status === 413) headers.connection = "close";
  try {
    response.writeHead(status, headers);
    response.end(payload);
  } catch (writeError) {
    request.log.error({ err: writeError }, "could not write the error response");
    response.destroy();
  }
}
