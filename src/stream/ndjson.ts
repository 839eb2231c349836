import {
  StreamingResponse,
  type StreamingResponseInit,
  type StreamSource,
} from "../http/streaming-response.js";

/**
 * Streams each item as one line of JSON (`application/x-ndjson`). An item that cannot be
 * serialised (undefined, a function, a BigInt, a cycle) aborts the stream, so the client sees
 * a truncated transfer rather than a silently missing row.
 */
export function ndjson<T>(
  source: StreamSource<T>,
  init: Omit<StreamingResponseInit<T>, "encode"> = {},
): StreamingResponse<T> {
  return new StreamingResponse(source, {
    statusCode: init.statusCode,
    headers: { "content-type": "application/x-ndjson; charset=utf-8", ...init.headers },
    encode: encodeNdjsonLine,
  });
}

export function encodeNdjsonLine(item: unknown): string {
  const json = JSON.stringify(item);
  if (json === undefined) {
    throw new TypeError(`ndjson: a ${typeof item} item cannot be encoded as JSON`);
  }
  return `${json}\n`;
}
