import { RESET_EVENT } from "./topic-message.js";

/** Longest topic name accepted, in characters: names are keys, not payloads. */
const MAX_TOPIC_LENGTH = 1024;

/** Refuses what cannot name a topic, with a message that says what can. */
export function checkTopic(topic: unknown): string {
  if (typeof topic !== "string" || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new TypeError(
      `A topic must be a non-empty string of at most ${MAX_TOPIC_LENGTH} characters, got ${describe(topic)}`,
    );
  }
  return topic;
}

/**
 * Event types only sluice sends: "reset" (the subscriber's last id is gone), the presence
 * events "join" and "leave", and "expired" (an SSE stream's credentials expired), which a
 * publisher (a real-time client, say) must not be able to forge.
 */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  RESET_EVENT,
  "join",
  "leave",
  "expired",
]);

/** An event type publish() accepts: one line, and not a reserved one (RESERVED_EVENTS). */
export function checkPublishedEvent(event: unknown): string | undefined {
  if (event === undefined) return undefined;
  if (typeof event !== "string" || event.length === 0 || /[\r\n]/.test(event)) {
    throw new TypeError(
      `A published event type must be a non-empty string without CR or LF, got ${describe(event)}`,
    );
  }
  if (event === RESET_EVENT) {
    throw new TypeError(
      `The event type "${RESET_EVENT}" is reserved: it tells subscribers their last id is gone`,
    );
  }
  if (RESERVED_EVENTS.has(event)) {
    throw new TypeError(
      `The event type "${event}" is reserved: sluice sends it (${event === "expired" ? "an SSE stream's credentials expired" : "a presence member joins or leaves"})`,
    );
  }
  return event;
}

/** A last event id as clients send it: absent or empty means "from now on". */
export function checkLastEventId(lastEventId: unknown): string | undefined {
  if (lastEventId === undefined || lastEventId === null || lastEventId === "") return undefined;
  if (typeof lastEventId !== "string") {
    throw new TypeError(`lastEventId must be a string, got ${describe(lastEventId)}`);
  }
  return lastEventId;
}

/**
 * Most retained messages one subscribe may ask to replay: a replay is held in memory until the
 * subscriber takes it (it does not count against `maxQueued`), and the count often comes from
 * a client.
 */
export const MAX_REPLAY = 10_000;

/** A `replay` count: undefined, or a whole number from 1 to MAX_REPLAY. */
export function checkReplay(replay: unknown, method: string): number | undefined {
  if (replay === undefined) return undefined;
  if (
    typeof replay !== "number" ||
    !Number.isSafeInteger(replay) ||
    replay < 1 ||
    replay > MAX_REPLAY
  ) {
    throw new TypeError(
      `${method} replay must be a whole number from 1 to ${MAX_REPLAY} (the latest messages to replay first), got ${describe(replay)}`,
    );
  }
  return replay;
}

export function describe(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === null ? "null" : typeof value;
}
