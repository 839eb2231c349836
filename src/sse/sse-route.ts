import { HttpResponse } from "../http/http-response.js";
import type { SluiceRequest } from "../http/request.js";
import { StreamingResponse } from "../http/streaming-response.js";
import { isPromiseLike } from "../util/is-promise-like.js";
import { readyForHead, waitsBeforeHead } from "./head-after-ready.js";
import { CheckedEvents } from "./sse-event-check.js";
import type { SseEventSchemas } from "./sse-event-schemas.js";
import { type SseOptions, sseLifecycle } from "./sse-options.js";
import { SseResponse } from "./sse-response.js";

/** Where an SSE handler's events come from. */
export type SseSource = AsyncIterable<unknown> | Iterable<unknown>;

/** What an SSE handler may return: events to stream, or a response instead of a stream. */
export type SseHandlerResult = SseSource | HttpResponse | StreamingResponse | Response | undefined;

export type SseHandler = (request: SluiceRequest) => SseHandlerResult | Promise<SseHandlerResult>;

/**
 * Turns an SSE handler into a route handler. The options' lifecycle is built (and bad options
 * refused) here, at registration; every stream of the route then shares it. With `checked`
 * (a typed route's events, when the App validates output), every event is checked first.
 */
export function sseRouteHandler(
  handler: SseHandler,
  options: SseOptions,
  checked?: SseEventSchemas,
) {
  sseLifecycle(options);
  return (request: SluiceRequest): unknown => {
    const result = handler(request);
    return isPromiseLike(result)
      ? Promise.resolve(result).then((settled) => toSseResult(settled, options, checked))
      : toSseResult(result, options, checked);
  };
}

function toSseResult(
  result: unknown,
  options: SseOptions,
  checked: SseEventSchemas | undefined,
): unknown {
  if (
    result === undefined ||
    result instanceof StreamingResponse ||
    result instanceof HttpResponse ||
    result instanceof Response
  ) {
    return result;
  }
  if (!isEventSource(result)) {
    throw new TypeError(
      `An SSE handler must return an AsyncIterable or Iterable of events (an async generator, say) or a response, got ${describe(result)}`,
    );
  }
  const events = checked ? new CheckedEvents(result, checked) : result;
  if (waitsBeforeHead(result)) {
    return result[readyForHead]().then(() => new SseResponse(events, options));
  }
  return new SseResponse(events, options);
}

function isEventSource(value: unknown): value is SseSource {
  if (typeof value !== "object" || value === null) return false;
  return Symbol.asyncIterator in value || Symbol.iterator in value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return typeof value;
}
