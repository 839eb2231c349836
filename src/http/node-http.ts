import type { IncomingMessage } from "node:http";
import { ServerResponse } from "node:http";
import { constants, Http2ServerRequest, type Http2ServerResponse } from "node:http2";

/**
 * A request as Node hands it over: node:http's, or node:http2's compatibility API (an h2
 * stream, or HTTP/1.1 on an HTTP/2 server's port). The two read alike: method, url, headers,
 * rawHeaders, the body as a Readable, `socket.remoteAddress`.
 */
export type NodeRequest = IncomingMessage | Http2ServerRequest;

/**
 * A response as Node hands it over (see NodeRequest). What differs is kept in this file:
 * an h2 response has no socket of its own (its `socket` is a proxy to the session's), no
 * `destroyed` or `writableNeedDrain` (its types say Writable, it is a plain Stream), and
 * Node counts a reset stream as "finished".
 */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** True for an HTTP/1.x response, with a socket of its own and connection-level headers. */
export function isHttp1(response: NodeResponse): response is ServerResponse {
  return response instanceof ServerResponse;
}

/** True for a request that came on an h2 stream (not HTTP/1.1 on an HTTP/2 server's port). */
export function isHttp2Request(request: NodeRequest): request is Http2ServerRequest {
  return request instanceof Http2ServerRequest;
}

/** True once the response can no longer send anything (its socket, or h2 stream, is gone). */
export function responseDestroyed(response: NodeResponse): boolean {
  return isHttp1(response) ? response.destroyed : response.stream.destroyed;
}

/**
 * True while the response's bytes are not leaving as fast as they come: its own buffer is
 * full, or its socket's (HTTP/1.1 chunks are written there directly: see write-chunk.ts), or,
 * over h2, its stream's (whose flow-control window the peer opens as it reads).
 */
export function responseNeedsDrain(response: NodeResponse): boolean {
  if (!isHttp1(response)) return response.stream.writableNeedDrain;
  return response.writableNeedDrain || response.socket?.writableNeedDrain === true;
}

/**
 * True when the response ended without being complete: its connection closed under it, or,
 * over h2, its stream was reset (by the client's RST_STREAM, or the session's end) before
 * the whole response went out. Node reports such an h2 response as finished.
 */
export function closedIncomplete(response: NodeResponse): boolean {
  if (isHttp1(response)) return !response.writableFinished;
  // rstCode is undefined until the stream has closed.
  const code = response.stream.rstCode ?? constants.NGHTTP2_NO_ERROR;
  return !response.writableEnded || code !== constants.NGHTTP2_NO_ERROR;
}

/** Writes one chunk of the body (the two write() signatures share no overload). */
export function writeBody(
  response: NodeResponse,
  chunk: string | Uint8Array,
  written?: () => void,
): boolean {
  return isHttp1(response) ? response.write(chunk, written) : response.write(chunk, written);
}

/** Sends the head now, before any body (node:http2's types lack flushHeaders; Node has it). */
export function flushHead(response: NodeResponse): void {
  if (isHttp1(response)) response.flushHeaders();
  else if (!response.headersSent) response.writeHead(response.statusCode);
}

/**
 * Ends an h2 stream whose request body is still coming and will not be read, once its
 * response is out: RST_STREAM with NO_ERROR, as RFC 9113 §8.1 allows, rather than let the
 * client send a body nobody reads. (HTTP/1.1 closes the connection instead.) Called before
 * the response is written.
 */
export function stopReadingAfterResponse(response: Http2ServerResponse): void {
  const stop = () => {
    if (!response.stream.closed) response.stream.close(constants.NGHTTP2_NO_ERROR);
  };
  response.once("finish", stop);
}
