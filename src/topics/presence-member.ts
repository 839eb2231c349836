import { stringifyJson } from "../util/json.js";
import type { PresenceMember } from "./broker-presence.js";
import { describe } from "./topic-checks.js";

/**
 * Most bytes of a member's info as JSON. Members live as long as their connection follows the
 * topic, so a presence store holds at most (subscriptions with presence) × this.
 */
export const MAX_PRESENCE_INFO_BYTES = 4096;

/** The event type of a presence event, as subscribers that asked for them see it. */
export type PresenceEventName = "join" | "leave";

/**
 * The info of a member as JSON text: any JSON value (null for none), at most
 * MAX_PRESENCE_INFO_BYTES bytes; anything else is a TypeError saying what `what` got.
 */
export function presenceInfoJson(info: unknown, what: string): string {
  let json: string;
  try {
    json = stringifyJson(info);
  } catch (error) {
    throw new TypeError(`${what} must be a JSON value, got ${describe(info)}`, { cause: error });
  }
  checkInfoJson(json, what);
  return json;
}

/** Refuses info JSON text past the cap (brokers check what they are given, too). */
export function checkInfoJson(json: unknown, what: string): string {
  if (typeof json !== "string") throw new TypeError(`${what} must be JSON text`);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_PRESENCE_INFO_BYTES) {
    throw new TypeError(
      `${what} is ${bytes} bytes as JSON, over the ${MAX_PRESENCE_INFO_BYTES} allowed: keep a name and an id, not a profile`,
    );
  }
  return json;
}

/** A member as the JSON text presence stores keep and presence events carry. */
export function memberJson(clientId: string, infoJson: string, since: number): string {
  return `{"clientId":${JSON.stringify(clientId)},"info":${infoJson},"since":${since}}`;
}

/** A member read back from its JSON text. */
export function parseMember(json: string): PresenceMember {
  const { clientId, info, since } = JSON.parse(json) as PresenceMember;
  return { clientId, info, since };
}

/** Oldest first; members who joined in the same millisecond by client id. */
export function byJoinTime(a: PresenceMember, b: PresenceMember): number {
  return a.since - b.since || (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0);
}
