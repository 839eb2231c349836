import type { OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import type { SluiceRequest } from "./request.js";

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
 * How a stream greets, keeps alive and ends; the defaults suit plain streams, SseResponse
 * changes them. A stream whose items are self-delimiting (SSE events) can end cleanly when
 * it is stopped early, where a plain stream must look truncated.
 */
export interface StreamLifecycle {
  /** Written right after the head. */
  readonly preamble?: StreamChunk;
  /** Written whenever nothing has been written for `idleMs`. */
  readonly keepAlive?: {
    readonly idleMs: number;
    readonly chunk: StreamChunk;
    /** False while the chunk cannot be written yet (the producer is midway through an item). */
    readonly ready?: () => boolean;
  };
  /** End with a proper terminator when the producer fails or the app closes. */
  readonly endCleanly?: boolean;
  /** Counted in `app.connections` under this name while open. */
  readonly countsAs?: "sse";
  /** Written after a producer failure, before a clean end. */
  farewell?(error: unknown, request: SluiceRequest): StreamChunk | undefined;
  /**
   * The last words of a stream whose request's credentials expired (bearerAuth's `expiresAt`,
   * a JWT's `exp`); undefined: none, or not now. Every stream ends then, with or without
   * this: cut short, or cleanly when it has `endCleanly`.
   */
  expired?(): StreamChunk | undefined;
}

const PLAIN_LIFECYCLE: StreamLifecycle = {};

/**
 * A response whose body is produced over time. Status and headers are flushed before the
 * first item is pulled; items are written as they come (small ones produced within the same
 * tick share one write); the producer is not pulled while the socket is over its high-water
 * mark; when the client leaves, `req.signal` aborts and the iterator's `return()` runs. When
 * the credentials of its request expire (jwtAuth, bearerAuth), it is cut short likewise: no
 * terminating chunk, so the client sees a failed transfer, never one that looks complete.
 */
export class StreamingResponse<T = StreamChunk> {
  readonly source: StreamSource<T>;
  readonly statusCode: number;
  readonly headers: OutgoingHttpHeaders;
  readonly encode: ((item: T) => StreamChunk) | undefined;
  readonly lifecycle: StreamLifecycle = PLAIN_LIFECYCLE;

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
