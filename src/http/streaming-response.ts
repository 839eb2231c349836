import type { OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";

export type StreamChunk = string | Uint8Array;

/** Anything sluice can stream: (async) iterables, Node Readables and web ReadableStreams. */
export type StreamSource<T = StreamChunk> =
  | AsyncIterable<T>
  | Iterable<T>
  | Readable
  | ReadableStream<T>;

export interface StreamingResponseInit<T = StreamChunk> {
  statusCode?: number;
  headers?: OutgoingHttpHeaders;
  /** Turns each produced item into bytes; without it items must be strings or Uint8Arrays. */
  encode?: (item: T) => StreamChunk;
}

/**
 * A response whose body is produced over time. Status and headers are flushed before the
 * first item is pulled; items are written as they come (small ones produced within the same
 * tick share one write); the producer is not pulled while the socket is over its high-water
 * mark; when the client leaves, `req.signal` aborts and the iterator's `return()` runs.
 */
export class StreamingResponse<T = StreamChunk> {
  readonly source: StreamSource<T>;
  readonly statusCode: number;
  readonly headers: OutgoingHttpHeaders;
  readonly encode: ((item: T) => StreamChunk) | undefined;

  constructor(source: StreamSource<T>, init: StreamingResponseInit<T> = {}) {
    if (source === null || (typeof source !== "object" && typeof source !== "function")) {
      throw new TypeError(
        "StreamingResponse needs an AsyncIterable, Iterable, Readable or ReadableStream source",
      );
    }
    this.source = source;
    this.statusCode = init.statusCode ?? 200;
    this.headers = init.headers ?? {};
    this.encode = init.encode;
  }
}
