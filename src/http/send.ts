import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { mergeHeaders } from "./headers.js";
import { HttpResponse, JsonBody } from "./http-response.js";
import { pumpStream } from "./pump.js";
import type { SluiceRequest } from "./request.js";
import { StreamingResponse } from "./streaming-response.js";

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";
const BYTES_TYPE = "application/octet-stream";

/**
 * Writes whatever a handler returned. Returns a promise only for streams, which finish later.
 */
export function sendResult(
  request: SluiceRequest,
  response: ServerResponse,
  result: unknown,
  extraHeaders: Record<string, string>,
): Promise<void> | undefined {
  if (result instanceof StreamingResponse) {
    return pumpStream(request, response, result, extraHeaders);
  }
  if (result instanceof HttpResponse) {
    return sendBody(
      request,
      response,
      result.body,
      result.statusCode,
      result.headers,
      extraHeaders,
    );
  }
  if (result instanceof Response) {
    return sendWebResponse(request, response, result, extraHeaders);
  }
  return sendBody(request, response, result, 200, undefined, extraHeaders);
}

function sendBody(
  request: SluiceRequest,
  response: ServerResponse,
  body: unknown,
  statusCode: number,
  headers: OutgoingHttpHeaders | undefined,
  extraHeaders: Record<string, string>,
): Promise<void> | undefined {
  if (isStreamable(body)) {
    return pumpStream(
      request,
      response,
      new StreamingResponse(body, { statusCode, headers }),
      extraHeaders,
    );
  }
  const [payload, contentType] = encodeBody(body);
  const status = payload === undefined && statusCode === 200 ? 204 : statusCode;
  const merged = mergeHeaders(
    contentType && !hasHeader(headers, "content-type") ? { "content-type": contentType } : {},
    headers ?? {},
    extraHeaders,
  );
  if (payload !== undefined && status !== 204 && status !== 304) {
    merged["content-length"] = Buffer.byteLength(payload);
    response.writeHead(status, merged);
    response.end(payload);
  } else {
    response.writeHead(status, merged);
    response.end();
  }
  return undefined;
}

/** `[payload, content-type]`; undefined payload means an empty body. */
function encodeBody(body: unknown): [string | Uint8Array | undefined, string | undefined] {
  if (body === undefined) return [undefined, undefined];
  if (typeof body === "string") return [body, TEXT_TYPE];
  if (body instanceof Uint8Array) return [body, BYTES_TYPE];
  const value = body instanceof JsonBody ? body.value : body;
  return [stringifyJson(value), JSON_TYPE];
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

function hasHeader(headers: OutgoingHttpHeaders | undefined, name: string): boolean {
  if (!headers) return false;
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** Handlers may return a WHATWG Response, as in Hono; its body is streamed. */
function sendWebResponse(
  request: SluiceRequest,
  response: ServerResponse,
  web: Response,
  extraHeaders: Record<string, string>,
): Promise<void> | undefined {
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
  return pumpStream(
    request,
    response,
    new StreamingResponse(body, { statusCode: web.status, headers }),
    extraHeaders,
  );
}
