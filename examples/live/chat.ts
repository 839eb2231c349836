// Chat rooms, on the real-time endpoint (realtime.ts). Each room is a topic ("room:<name>"):
// the page subscribes to it (with the room's recent messages replayed first, and joining its
// presence) and says something with `rt.publish("room:lobby", { name, text })`. The client
// gives every publish a message id and resends it after a dropped connection; the broker
// stores it once, so a message whose ack was lost is neither lost nor doubled. "X is typing"
// notices go to the same topic live-only (`store: false`): never stored, never replayed.
//
// The rooms are a fixed list (ROOMS): each room is a topic with a log, so rooms made up by
// visitors would let anyone grow the server's memory one name at a time. The data of a
// publish is checked here: the text's length, and the name, which must be the session's (the
// page sends it because a publish stores the data as it came; the server never trusts it).

/** The rooms there are; any other is refused. */
export const ROOMS: readonly string[] = ["lobby", "kitchen", "garden", "library", "studio"];
export const roomTopic = (room: string) => `room:${room}`;
const ROOM_TOPICS = new Set(ROOMS.map(roomTopic));
export const MAX_TEXT_LENGTH = 500;
/** Messages the page asks the room's log for when it enters a room. */
export const HISTORY_ON_JOIN = 50;

/** What a chat message's data is. */
export interface ChatMessage {
  name: string;
  text: string;
}

/** What a typing notice's data is (published with `store: false` and the event "typing"). */
export interface TypingNotice {
  name: string;
  typing: true;
}

export const isRoomTopic = (topic: string) => ROOM_TOPICS.has(topic);

/**
 * Whether `data` is a message from `name`: exactly `{ name, text }`, the text a string of 1 to
 * MAX_TEXT_LENGTH characters that is not blank. Anything else is refused (`forbidden`); the
 * page checks the same before sending, so a person typing never meets the refusal.
 */
export function isChatMessage(data: unknown, name: string): boolean {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  const { name: claimed, text, ...rest } = data as Record<string, unknown>;
  return (
    Object.keys(rest).length === 0 &&
    claimed === name &&
    typeof text === "string" &&
    text.trim() !== "" &&
    text.length <= MAX_TEXT_LENGTH
  );
}

/**
 * Whether `data` is exactly `{ name, typing: true }`, with the session's name. (A publish rule
 * sees the data, not the `store` option: a script could store one, so the page shows only
 * live-only notices, id "".)
 */
export function isTypingNotice(data: unknown, name: string): boolean {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  const { name: claimed, typing, ...rest } = data as Record<string, unknown>;
  return Object.keys(rest).length === 0 && claimed === name && typing === true;
}
