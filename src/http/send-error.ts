import { type OutgoingHttpHeaders, STATUS_CODES } from "node:http";
import { logSafely } from "../util/logger.js";
import { cutShort } from "./cut-short.js";
import { mergeHeaders } from "./headers.js";
import { HttpError } from "./http-error.js";
import { refusedHeaderName, withoutInvalidHeaders } from "./invalid-header.js";
import { isHttp1, type NodeResponse } from "./node-http.js";
import { PROBLEM_JSON, problemDetails } from "./problem-details.js";
import type { SluiceRequest } from "./request.js";

/**
 * Answers a failed request. An HttpError keeps its status and message; anything else is a
 * 500 whose body names the request id (to find the log line) but never the error's text.
 * Once headers are out, the only honest answer is to cut the response short.
 */
export function sendError(
  request: SluiceRequest,
  response: NodeResponse,
  error: unknown,
  extraHeaders: Record<string, string | string[]>,
): void {
  const httpError = error instanceof HttpError ? error : undefined;
  const refusedHeader = refusedHeaderName(error);
  // The answer must go out whatever the logger does.
  if (refusedHeader !== undefined) {
    // Name only: the value may be a cookie or come from the client.
    logSafely(
      request.log,
      "error",
      { err: error, header: refusedHeader },
      "invalid response header (a CR, LF or other forbidden character); answered 500",
    );
  } else if (!httpError) {
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
  // A ValidationError (or a 415) is an RFC 9457 problem document; every other error keeps
  // sluice's own body.
  const problem = httpError && problemDetails(httpError, request.id);
  const body: Record<string, unknown> = problem ?? {
    error: STATUS_CODES[status] ?? "Error",
    message: httpError ? httpError.message : "Internal Server Error",
    requestId: request.id,
  };
  if (!problem && httpError?.details !== undefined) body.details = httpError.details;
  const payload = stringifyErrorBody(body, request);
  const content = {
    "content-type": problem ? PROBLEM_JSON : "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
    // A refused body is left unread: close the connection rather than read the rest of it
    // (an h2 stream is reset once answered instead: see RequestDispatch's final headers).
    ...(status === 413 && isHttp1(response) ? { connection: "close" } : {}),
  };
  const head = mergeHeaders(httpError?.headers ?? {}, extraHeaders, content);
  try {
    // The reason phrase is given: the writeHead that failed on a bad header (the handler's
    // 200, say) had already set statusMessage, and Node keeps it: the line read "500 OK".
    writeHeadWithReason(response, status, head);
  } catch (headerError) {
    sendPlain500(request, response, headerError, extraHeaders, refusedHeader);
    return;
  }
  response.end(payload);
}

/**
 * A header of the error response itself is invalid (an HttpError's, or a middleware's that
 * also failed the first answer): a plain 500 with the headers Node accepts, rather than
 * nothing at all. The bad header is logged by name unless it was just logged as the cause.
 */
function sendPlain500(
  request: SluiceRequest,
  response: NodeResponse,
  headerError: unknown,
  extraHeaders: Record<string, string | string[]>,
  alreadyLogged: string | undefined,
): void {
  const header = refusedHeaderName(headerError);
  if (header === undefined || header !== alreadyLogged) {
    logSafely(
      request.log,
      "error",
      { err: headerError, header },
      "invalid response header; sending a plain 500",
    );
  }
  // Headers set on the response one by one (Node's slow path) may include a bad one's peers.
  for (const name of response.getHeaderNames()) response.removeHeader(name);
  const fallback = JSON.stringify({
    error: STATUS_CODES[500],
    message: "Internal Server Error",
    requestId: request.id,
  });
  const content = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(fallback),
  };
  writeHeadWithReason(
    response,
    500,
    mergeHeaders(withoutInvalidHeaders(extraHeaders).valid, content),
  );
  response.end(fallback);
}

/** HTTP/1.1's status line gets its reason phrase; h2 has none (Node warns if given one). */
function writeHeadWithReason(
  response: NodeResponse,
  status: number,
  head: OutgoingHttpHeaders,
): void {
  if (isHttp1(response)) response.writeHead(status, STATUS_CODES[status] ?? "unknown", head);
  else response.writeHead(status, head);
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
