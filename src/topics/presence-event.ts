import type { SseEvent } from "../sse/sse-event.js";
import type { PresenceMember } from "./broker-presence.js";

/**
 * A presence event of a subscription made with `joinLeave: true`: a member joined or left
 * the topic. It has no id (never stored, never replayed, not a resume point).
 */
export type TopicPresenceEvent = SseEvent & {
  readonly event: "join" | "leave";
  readonly data: PresenceMember;
};

/**
 * True for the `join` and `leave` events of a subscription made with `joinLeave: true`:
 * events of those names without an id. (A live-only message you publish with the event
 * "join" or "leave" would look the same: give yours other names on topics with presence.)
 *
 * ```ts
 * for await (const event of app.subscribe("room:1", { joinLeave: true })) {
 *   if (isPresenceEvent(event)) console.log(event.event, event.data.clientId);
 *   else show(event.data);
 * }
 * ```
 */
export function isPresenceEvent(event: SseEvent): event is TopicPresenceEvent {
  return (event.event === "join" || event.event === "leave") && !event.id;
}
