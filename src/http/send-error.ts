import { type ServerResponse, STATUS_CODES } from "node:http";
import { logSafely } from "../logger.js";
import { cutShort } from "./cut-short.js";
import { mergeHeaders } from "./headers.js";
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
  extraHeaders: Record<string, string | string[]>,
): void {
  const httpError = error instanceof HttpError ? error : undefined;
  // The answer must go out whatever the logger does.
  if (!httpError) {
    logSafely(request.log, "error", { err: error }, "request failed");
  } else {
    const details = { status: httpError.status, message: httpError.message };
    logSafely(request.log, httpError.status >= 500 ? "warn" : "debug", details, "request refused");
  }
  if (response.headersSent) {
    cutShort(response);
    return;
  }
  const status = httpError?.status ?? 500;
  const body: Record<string, unknown> = {
    error: STATUS_CODES[status] ?? "Error",
    message: httpError ? httpError.message : "Internal Server Error",
    requestId: request.id,
  };
  if (httpError?.details !== undefined) body.details = httpError.details;
  const payload = stringifyErrorBody(body, request);
  const content = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
    // A refused body is left unread: close the connection rather than read the rest of it.
    ...(status === 413 ? { connection: "close" } : {}),
  };
  try {
    response.writeHead(status, mergeHeaders(httpError?.headers ?? {}, extraHeaders, content));
  } catch (headerError) {
    // A header value the app set is invalid (say, a non-Latin-1 filename): answer with a
    // plain 500 rather than nothing at all.
    logSafely(
      request.log,
      "error",
      { err: headerError },
      "invalid response header; sending a plain 500",
    );
    const fallback = JSON.stringify({
      error: STATUS_CODES[500],
      message: "Internal Server Error",
      requestId: request.id,
    });
    response.writeHead(500, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(fallback),
      "x-request-id": request.id,
    });
    response.end(fallback);
    return;
  }
  response.end(payload);
}

/** Details that cannot be serialised (a cycle, a BigInt) are dropped, never a crash. */
function stringifyErrorBody(body: Record<string, unknown>, request: SluiceRequest): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    logSafely(
      request.log,
      "error",
      { err: error },
      "HttpError details could not be serialised; sent without them",
    );
    const { details: _dropped, ...rest } = body;
    return JSON.stringify(rest);
  }
}
