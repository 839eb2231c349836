import { HttpError } from "../http/http-error.js";
import type { SluiceRequest } from "../http/request.js";
import type { StreamLifecycle } from "../http/streaming-response.js";
import { isReconnectDelay, SseEvent } from "./sse-event.js";

export interface SseOptions {
  /**
   * Milliseconds of silence after which a comment line is written, so proxies with idle
   * timeouts never cut a quiet stream. Any event resets the clock. Streams are checked every
   * `keepAlive / 2` ms, so the comment comes after `keepAlive` to `1.5 × keepAlive` ms of
   * silence: set it well under the shortest idle timeout on the way. Default 15 000; 0
   * disables.
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

const DEFAULT_KEEP_ALIVE_MS = 15_000;
/** The longest delay setTimeout honours (longer ones fire after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const KEEP_ALIVE_COMMENT = ": keep-alive\n\n";
/**
 * The last event of a stream whose credentials expired. EventSource reconnects by itself
 * (helps with a renewed cookie); a page with a token in the URL closes it and opens a new one.
 * Publishing the event type "expired" is refused, so only the server sends it.
 */
const EXPIRED_EVENT = new SseEvent({
  event: "expired",
  data: { reason: "credentials expired" },
}).frame;

/** Lifecycles of streams without per-stream state, built once per options object. */
const sharedLifecycles = new WeakMap<SseOptions, StreamLifecycle>();

/**
 * How an SSE stream greets (`retry:`), keeps alive and ends (cleanly, after the optional error
 * event). Options are checked here. `atEventBoundary` (hand-written streams) makes the
 * lifecycle specific to one stream; without it, one lifecycle serves every stream of a route.
 */
export function sseLifecycle(
  options: SseOptions,
  atEventBoundary?: () => boolean,
): StreamLifecycle {
  const shared = atEventBoundary ? undefined : sharedLifecycles.get(options);
  if (shared) return shared;
  checkSseOptions(options);
  const keepAliveMs = options.keepAlive ?? DEFAULT_KEEP_ALIVE_MS;
  const lifecycle: StreamLifecycle = {
    preamble: options.retry === undefined ? undefined : `retry: ${options.retry}\n\n`,
    keepAlive:
      keepAliveMs > 0
        ? { idleMs: keepAliveMs, chunk: KEEP_ALIVE_COMMENT, ready: atEventBoundary }
        : undefined,
    endCleanly: true,
    countsAs: "sse",
    farewell: farewellFor(options.errorEvent),
    // A hand-written stream may be midway through an event: then it ends without one.
    expired: atEventBoundary
      ? () => (atEventBoundary() ? EXPIRED_EVENT : undefined)
      : () => EXPIRED_EVENT,
  };
  if (!atEventBoundary) sharedLifecycles.set(options, lifecycle);
  return lifecycle;
}

/** Refuses bad options when the route or response is created, not when a client connects. */
function checkSseOptions(options: SseOptions): void {
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
  if (retry !== undefined && !isReconnectDelay(retry)) {
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
