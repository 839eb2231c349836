import type { OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { mergeHeaders } from "../http/headers.js";
import { HttpResponse, JsonBody } from "../http/http-response.js";
import type { NodeResponse } from "../http/node-http.js";
import type { SluiceRequest } from "../http/request.js";
import { StreamingResponse } from "../http/streaming-response.js";
import { asSseIfEventStream } from "../sse/sse-response.js";
import { type StreamOwner, type StreamSending, sendStream } from "../stream/stream-sender.js";

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";
const BYTES_TYPE = "application/octet-stream";

/**
 * Writes whatever a handler returned. Returns something only for streams, which finish later
 * and tell `owner` how they ended (see StreamOwner).
 * A StreamingResponse comes already given its SSE behaviour if it declares
 * `text/event-stream` (`asSseIfEventStream`, run once by the dispatch).
 */
export function sendResult(
  request: SluiceRequest,
  response: NodeResponse,
  result: unknown,
  extraHeaders: Record<string, string | string[]>,
  owner: StreamOwner,
): StreamSending | undefined {
  if (result instanceof StreamingResponse) {
    return sendStream(request, response, result, extraHeaders, owner);
  }
  if (result instanceof HttpResponse) {
    return sendBody(
      request,
      response,
      result.body,
      result.statusCode,
      result.headers,
      extraHeaders,
      owner,
    );
  }
  if (result instanceof Response) {
    return sendWebResponse(request, response, result, extraHeaders, owner);
  }
  return sendBody(request, response, result, undefined, undefined, extraHeaders, owner);
}

function sendBody(
  request: SluiceRequest,
  response: NodeResponse,
  body: unknown,
  /** undefined: 200, or 204 for an empty result. */
  statusCode: number | undefined,
  headers: OutgoingHttpHeaders | undefined,
  extraHeaders: Record<string, string | string[]>,
  owner: StreamOwner,
): StreamSending | undefined {
  if (isStreamable(body)) {
    return sendStream(
      request,
      response,
      new StreamingResponse(body, { statusCode, headers }),
      extraHeaders,
      owner,
    );
  }
  const payload = encodePayload(body);
  const status = statusCode ?? (payload === undefined ? 204 : 200);
  const withBody = payload !== undefined && status !== 204 && status !== 304;
  const defaults: OutgoingHttpHeaders = withBody
    ? { "content-type": contentTypeOf(body), "content-length": Buffer.byteLength(payload) }
    : {};
  let head: OutgoingHttpHeaders;
  if (headers === undefined) {
    // The common case (a plain result): no merging, one small object.
    head = defaults;
    for (const name in extraHeaders) head[name] = extraHeaders[name];
  } else {
    head = mergeHeaders(defaults, headers, extraHeaders);
  }
  response.writeHead(status, head);
  const sent = withBody ? payload : undefined;
  if (sent === undefined) response.end();
  else response.end(sent);
  return undefined;
}

/** The bytes or text to send; undefined means an empty body. */
function encodePayload(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return stringifyJson(body instanceof JsonBody ? body.value : body);
}

function contentTypeOf(body: unknown): string {
  if (typeof body === "string") return TEXT_TYPE;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return BYTES_TYPE;
  return JSON_TYPE;
}

function stringifyJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`A ${typeof value} cannot be sent as JSON`);
  return json;
}

function isStreamable(body: unknown): body is AsyncIterable<unknown> | Readable {
  return (
    body instanceof Readable ||
    (typeof body === "object" && body !== null && Symbol.asyncIterator in body)
  );
}

/** Handlers may return a WHATWG Response, as in Hono; its body is streamed. */
function sendWebResponse(
  request: SluiceRequest,
  response: NodeResponse,
  web: Response,
  extraHeaders: Record<string, string | string[]>,
  owner: StreamOwner,
): StreamSending | undefined {
  const headers: OutgoingHttpHeaders = {};
  web.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const setCookies = web.headers.getSetCookie();
  if (setCookies.length > 0) headers["set-cookie"] = setCookies;
  if (!web.body) {
    response.writeHead(web.status, mergeHeaders(headers, extraHeaders));
    response.end();
    return undefined;
  }
  const body = web.body as unknown as NodeWebReadableStream<Uint8Array>;
  return sendStream(
    request,
    response,
    asSseIfEventStream(new StreamingResponse(body, { statusCode: web.status, headers })),
    extraHeaders,
    owner,
  );
}
