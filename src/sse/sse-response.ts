import type { OutgoingHttpHeaders } from "node:http";
import { mergeHeaders } from "../http/headers.js";
import { HttpError } from "../http/http-error.js";
import type { SluiceRequest } from "../http/request.js";
import {
  type StreamChunk,
  StreamingResponse,
  type StreamLifecycle,
  type StreamSource,
} from "../http/streaming-response.js";
import { SseEvent } from "./sse-event.js";
import { dataFrame } from "./sse-lines.js";

export interface SseOptions {
  /**
   * Milliseconds of silence after which a comment line is written, so proxies with idle
   * timeouts never cut a quiet stream. Any event resets the clock. Default 15 000; 0 disables.
   */
  keepAlive?: number;
  /** Sent first as `retry:`: how long clients wait before reconnecting, in ms. */
  retry?: number;
  /**
   * When the producer throws, send a last `event: error` before closing. `true` sends
   * `{ message, requestId }` (the message of an HttpError, else "Internal Server Error");
   * a function makes the event (or returns undefined to send none). Default false.
   */
  errorEvent?: boolean | ((error: unknown, request: SluiceRequest) => SseEvent | undefined);
}

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

export const SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8";
const DEFAULT_KEEP_ALIVE_MS = 15_000;
/** The longest delay setTimeout honours (longer ones fire after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const KEEP_ALIVE_COMMENT = ": keep-alive\n\n";

const SSE_HEADERS = {
  "content-type": SSE_CONTENT_TYPE,
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/**
 * A Server-Sent Events stream: each item becomes one event (an SseEvent as it is, any other
 * value as a data-only event). Keep-alive comments fill silences; a producer failure or the
 * app closing ends the stream cleanly, since the client reconnects either way and a clean
 * end never leaves half an event behind.
 */
export class SseResponse<T = unknown> extends StreamingResponse<T> {
  override readonly lifecycle: StreamLifecycle;

  constructor(source: StreamSource<T>, init: SseResponseInit<T> = {}) {
    checkSseOptions(init);
    const raw = init.raw ? rawSseEncoder(init.encode) : undefined;
    super(source, {
      statusCode: init.statusCode,
      headers: mergeHeaders(SSE_HEADERS, init.headers ?? {}),
      encode: raw?.encode ?? init.encode ?? (encodeSseItem as (item: T) => StreamChunk),
    });
    const keepAliveMs = init.keepAlive ?? DEFAULT_KEEP_ALIVE_MS;
    this.lifecycle = {
      preamble: init.retry === undefined ? undefined : `retry: ${init.retry}\n\n`,
      keepAlive:
        keepAliveMs > 0
          ? { idleMs: keepAliveMs, chunk: KEEP_ALIVE_COMMENT, ready: raw?.atEventBoundary }
          : undefined,
      endCleanly: true,
      farewell: farewellFor(init.errorEvent),
    };
  }
}

/** What app.sse() handlers yield: an SseEvent, or any other value as a data-only event. */
export function encodeSseItem(item: unknown): string {
  return item instanceof SseEvent ? item.frame : dataFrame(item);
}

/**
 * For hand-made `text/event-stream` streams, whose producers write the wire format themselves:
 * strings and bytes go out as they are, SseEvents are encoded. It notes whether the last chunk
 * ended an event, so a keep-alive comment never lands inside one the producer is still writing.
 */
function rawSseEncoder<T>(encode: ((item: T) => StreamChunk) | undefined): {
  encode: (item: T) => StreamChunk;
  atEventBoundary: () => boolean;
} {
  // The last few characters written: enough to see whether they end with a blank line.
  let tail = "\n\n";
  return {
    encode: (item) => {
      const chunk = encode ? encode(item) : rawChunk(item);
      if (chunk.length > 0) tail = (tail + lastChars(chunk, TAIL_LENGTH)).slice(-TAIL_LENGTH);
      return chunk;
    },
    atEventBoundary: () => endsWithBlankLine(tail),
  };
}

function rawChunk(item: unknown): StreamChunk {
  if (item instanceof SseEvent) return item.frame;
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(
    `A text/event-stream StreamingResponse yields SseEvents, strings or Uint8Arrays, got ${item === null ? "null" : typeof item}; use app.sse() to send plain values as data`,
  );
}

/** Long enough for the longest blank-line ending, `\r\n\r\n`. */
const TAIL_LENGTH = 4;

/** The last `count` characters of a chunk (bytes as Latin-1: only CR and LF matter here). */
function lastChars(chunk: StreamChunk, count: number): string {
  if (typeof chunk === "string") return chunk.slice(-count);
  return Buffer.from(chunk.subarray(Math.max(0, chunk.length - count))).toString("latin1");
}

/**
 * True when the text ends with the line ending of an empty line: the event before it is
 * complete. Endings are `\r\n`, `\n` or `\r`, in any mix (`\n\n`, `\r\r`, `\r\n\r\n`,
 * `\n\r\n` ...).
 */
function endsWithBlankLine(text: string): boolean {
  let end = text.length;
  if (text.endsWith("\r\n")) end -= 2;
  else if (text.endsWith("\n") || text.endsWith("\r")) end -= 1;
  else return false;
  const before = text.charCodeAt(end - 1);
  return before === 0x0a || before === 0x0d;
}

/** Refuses bad options when the route or response is created, not when a client connects. */
export function checkSseOptions(options: SseOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError("SSE options must be an object: { keepAlive?, retry?, errorEvent? }");
  }
  const { keepAlive, retry, errorEvent } = options;
  if (
    keepAlive !== undefined &&
    (typeof keepAlive !== "number" ||
      !Number.isSafeInteger(keepAlive) ||
      keepAlive < 0 ||
      keepAlive > MAX_TIMER_MS)
  ) {
    throw new TypeError(
      `SSE keepAlive must be a whole number of milliseconds from 0 (disabled) to ${MAX_TIMER_MS}, got ${String(keepAlive)}`,
    );
  }
  if (
    retry !== undefined &&
    (typeof retry !== "number" || !Number.isSafeInteger(retry) || retry < 0)
  ) {
    throw new TypeError(
      `SSE retry must be a non-negative integer number of milliseconds, got ${String(retry)}`,
    );
  }
  if (
    errorEvent !== undefined &&
    typeof errorEvent !== "boolean" &&
    typeof errorEvent !== "function"
  ) {
    throw new TypeError("SSE errorEvent must be a boolean or a function (error, req) => SseEvent");
  }
}

function farewellFor(option: SseOptions["errorEvent"]): StreamLifecycle["farewell"] {
  if (!option) return undefined;
  if (option === true) return defaultErrorEvent;
  return (error, request) => {
    const event = option(error, request);
    if (event === undefined) return undefined;
    if (!(event instanceof SseEvent)) {
      throw new TypeError("SSE errorEvent must return an SseEvent or undefined");
    }
    return event.frame;
  };
}

function defaultErrorEvent(error: unknown, request: SluiceRequest): string {
  const message = error instanceof HttpError ? error.message : "Internal Server Error";
  return new SseEvent({ event: "error", data: { message, requestId: request.id } }).frame;
}

/**
 * A StreamingResponse declared as `text/event-stream` (the seed's hand-made SSE routes) gets
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
