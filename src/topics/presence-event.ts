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
 * events of those names without an id (publish() refuses the event types "join" and "leave",
 * so a publisher, a real-time client say, cannot forge one).
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
