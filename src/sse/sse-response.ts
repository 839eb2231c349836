import type { OutgoingHttpHeaders } from "node:http";
import { mergeHeaders } from "../http/headers.js";
import {
  type StreamChunk,
  StreamingResponse,
  type StreamLifecycle,
  type StreamSource,
} from "../http/streaming-response.js";
import { isEventShaped } from "./event-shaped.js";
import { rawSseEncoder } from "./raw-sse-encoder.js";
import { SseEvent } from "./sse-event.js";
import { dataFrame } from "./sse-lines.js";
import { type SseOptions, sseLifecycle } from "./sse-options.js";

export type { SseOptions } from "./sse-options.js";

export interface SseResponseInit<T> extends SseOptions {
  statusCode?: number;
  headers?: OutgoingHttpHeaders;
  /** Turns an item into its frame. Default: SseEvents as they are, anything else as data. */
  encode?: (item: T) => StreamChunk;
  /**
   * Items are raw wire format (strings or bytes) that may split an event across chunks:
   * keep-alive comments then wait for an event boundary. Default false.
   */
  raw?: boolean;
}

const SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8";
const SSE_HEADERS = {
  "content-type": SSE_CONTENT_TYPE,
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/**
 * A Server-Sent Events stream: each item becomes one event (an SseEvent as it is, a plain
 * `{ event, id, data }` object as that event, any other value as a data-only event). Keep-alive comments fill silences; a producer failure or the
 * app closing ends the stream cleanly, since the client reconnects either way and a clean
 * end never leaves half an event behind.
 */
export class SseResponse<T = unknown> extends StreamingResponse<T> {
  override readonly lifecycle: StreamLifecycle;

  constructor(source: StreamSource<T>, init: SseResponseInit<T> = {}) {
    const raw = init.raw ? rawSseEncoder(init.encode) : undefined;
    const lifecycle = sseLifecycle(init, raw?.atEventBoundary);
    super(source, {
      statusCode: init.statusCode,
      headers: init.headers ? mergeHeaders(SSE_HEADERS, init.headers) : { ...SSE_HEADERS },
      encode: raw?.encode ?? init.encode ?? (encodeSseItem as (item: T) => StreamChunk),
    });
    this.lifecycle = lifecycle;
  }
}

/**
 * What app.sse() handlers yield: an SseEvent (its bytes, shared by every client it goes
 * to), a plain object of SseEvent fields only (`{ event, id, data }`) as that event, or any
 * other value as a data-only event.
 */
export function encodeSseItem(item: unknown): StreamChunk {
  if (item instanceof SseEvent) return item.bytes;
  if (isEventShaped(item)) return new SseEvent(item).frame;
  return dataFrame(item);
}

/**
 * A StreamingResponse declared as `text/event-stream` (an SSE route written by hand) gets
 * SSE behaviour too: keep-alives, SseEvent items, a clean end.
 */
export function asSseIfEventStream<T>(stream: StreamingResponse<T>): StreamingResponse<T> {
  if (stream instanceof SseResponse || !isEventStream(stream.headers)) return stream;
  return new SseResponse(stream.source, {
    statusCode: stream.statusCode,
    headers: stream.headers,
    encode: stream.encode,
    raw: true,
  });
}

function isEventStream(headers: OutgoingHttpHeaders): boolean {
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() !== "content-type") continue;
    const value = headers[name];
    return typeof value === "string" && /^\s*text\/event-stream\s*(;|$)/i.test(value);
  }
  return false;
}
