import type { Redis } from "ioredis";
import type { StoredMessage } from "../topics/broker.js";
import { compareStreamIds } from "../topics/stream-id.js";
import { decodeEntry, previousId } from "./publish-script.js";

/** What a topic's stream says about a last seen id, read in one MULTI so both parts agree. */
export interface LogAfter {
  /**
   * `messages`: every message after the id. `trimmed`: some message after the id was
   * trimmed away (`messages` holds what is left). `unknown`: the id is newer than
   * anything the stream made, or the stream does not exist and the id is not "0-0"
   * (`messages` is empty), or the stream began after the id (Redis lost the log the id came
   * from: `messages` holds the whole new stream).
   */
  readonly kind: "messages" | "trimmed" | "unknown";
  readonly messages: StoredMessage[];
  /** The stream's last generated id, "0-0" when there is no stream. */
  readonly head: string;
}

type Entries = [id: string, fields: string[]][];

interface StreamInfo {
  readonly lastGenerated: string;
  readonly maxDeleted: string;
}

/** XINFO STREAM, as a flat [name, value, …] array (RESP2, or RESP3 mapped) or an object. */
function parseInfo(reply: unknown): StreamInfo {
  const fields = new Map<string, unknown>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  } else if (typeof reply === "object" && reply !== null) {
    for (const [name, value] of Object.entries(reply)) fields.set(name, value);
  }
  const lastGenerated = fields.get("last-generated-id");
  if (lastGenerated === undefined) throw new Error("XINFO STREAM gave no last-generated-id");
  // Redis 7 and later; before, nothing tells of XDEL.
  const maxDeleted = fields.get("max-deleted-entry-id") ?? "0-0";
  return { lastGenerated: String(lastGenerated), maxDeleted: String(maxDeleted) };
}

function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && /no such key/i.test(error.message);
}

/**
 * The topic's messages after `lastId` (a valid stream id), and whether that is everything the
 * holder of `lastId` missed: XRANGE from `(lastId` and XINFO STREAM in one MULTI.
 *
 * Trimming removes the oldest entries, so messages after `lastId` are missing exactly when
 * the entry before the first one after `lastId` (its `p` field) is itself after `lastId`:
 * it was there and is gone. Also missing: anything XDEL removed after `lastId` (XINFO's
 * max-deleted-entry-id), or everything, when nothing is left after `lastId` although the
 * stream went on past it.
 */
export async function readAfter(
  redis: Redis,
  key: string,
  topic: string,
  lastId: string,
): Promise<LogAfter> {
  const results = await redis.multi().xrange(key, `(${lastId}`, "+").xinfo("STREAM", key).exec();
  if (!results) throw new Error("the MULTI reading the topic was aborted");
  const [[rangeError, range], [infoError, infoReply]] = results as [
    [Error | null, unknown],
    [Error | null, unknown],
  ];
  if (infoError) {
    if (!isNoSuchKey(infoError)) throw infoError;
    // "0-0" is the head of a topic that had no message yet (see head()): nothing is missing.
    return { kind: isOrigin(lastId) ? "messages" : "unknown", messages: [], head: "0-0" };
  }
  const info = parseInfo(infoReply);
  const head = info.lastGenerated;
  // Also covers the one id XRANGE refuses to go past (the largest possible one).
  if (compareStreamIds(lastId, head) > 0) return { kind: "unknown", messages: [], head };
  if (rangeError) throw rangeError;
  const entries = range as Entries;
  const first = entries[0];
  const messages = entries.map((entry) => decodeEntry(topic, entry));
  // The stream's very first entry comes after the id: the id is not one of this stream's
  // (Redis restarted without its data, say), and what followed it there is gone. "0-0" is
  // the head of a topic that had no message yet: from there, nothing is missing.
  if (first && isOrigin(previousId(first)) && !isOrigin(lastId)) {
    return { kind: "unknown", messages, head };
  }
  const trimmed = first
    ? compareStreamIds(previousId(first), lastId) > 0
    : compareStreamIds(lastId, head) < 0;
  const kind = trimmed || compareStreamIds(lastId, info.maxDeleted) < 0 ? "trimmed" : "messages";
  return { kind, messages, head };
}

/** True for "0-0" (however written): the id before a stream's first entry. */
function isOrigin(id: string): boolean {
  return compareStreamIds(id, "0-0") === 0;
}

/** The stream's last generated id, "0-0" when there is no stream. */
export async function headOf(redis: Redis, key: string): Promise<string> {
  try {
    return parseInfo(await redis.xinfo("STREAM", key)).lastGenerated;
  } catch (error) {
    if (isNoSuchKey(error)) return "0-0";
    throw error;
  }
}
