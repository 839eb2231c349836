import type { SseEventInit } from "./sse-event.js";

/** The fields of an SseEvent: what `new SseEvent(init)` takes. */
const EVENT_FIELDS = new Set(["data", "id", "event", "retry", "comment"]);

/**
 * True for a plain object whose keys are all SseEvent fields, such as `{ event, id, data }`:
 * the shape other SSE libraries take as an event, and what a handler yielding it means. Any
 * other key (a row `{ id, name }`), a class instance or an array makes it data, as before.
 */
export function isEventShaped(value: unknown): value is SseEventInit {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  let fields = 0;
  // for...in stops at the first other key without building an array: most yielded objects
  // are data, and this runs for each of them.
  for (const key in value) {
    if (!EVENT_FIELDS.has(key)) return false;
    fields++;
  }
  return fields > 0;
}
