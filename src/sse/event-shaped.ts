import type { SseEventInit } from "./sse-event.js";

/** The fields of an SseEvent: what `new SseEvent(init)` takes. */
const EVENT_FIELDS = new Set(["data", "id", "event", "retry", "comment"]);

/**
 * True for a plain object that describes an event, such as `{ event, id, data }`: the shape
 * other SSE libraries take as an event, and what a handler yielding it means. It must have
 * `data` and an `event` or an `id`, and no key that is not an SseEvent field. Anything else
 * stays data, as before: `{ data: rows }` (a common envelope), a row `{ id, name }`, a class
 * instance, an array. Requiring `event` or `id` keeps envelopes of data-only JSON unchanged.
 */
export function isEventShaped(value: unknown): value is SseEventInit {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  let namesTheEvent = false;
  let hasData = false;
  // for...in stops at the first other key without building an array: most yielded objects
  // are data, and this runs for each of them.
  for (const key in value) {
    if (!EVENT_FIELDS.has(key)) return false;
    if (key === "data") hasData = true;
    else if (key === "event" || key === "id") namesTheEvent = true;
  }
  return hasData && namesTheEvent && (value as { data?: unknown }).data !== undefined;
}
