import type { StoredMessage } from "../topics/broker.js";

/**
 * Publishing, as one Lua script so it is atomic: XADD to the topic's stream (trimmed to about
 * `history` entries), PEXPIRE it (so a topic nobody publishes to goes away by itself), then
 * PUBLISH the message with the id XADD gave it. Scripts run one at a time, so every
 * subscriber, in every process, receives a topic's messages in stream order.
 *
 * KEYS[1] the stream; KEYS[2], for a publish with a dedupe key, that key's (see dedupeKeyOf).
 * ARGV: history, ttl (ms; "0": never expires, PERSIST), channel, dedupe window (ms; unused
 * without KEYS[2]), json[, event].
 *
 * Dedupe: when KEYS[2] holds an id, the message was published within the window: the script
 * returns that id and stores and publishes nothing. Otherwise, after the XADD, KEYS[2] is set
 * to the new id with a PX of the window. Being inside the script, the check and the set are
 * one step: two processes publishing with one key at once store once.
 *
 * Stream entry fields: `p` the id of the entry before it ("0-0" for the first), `e` the event
 * (absent when there is none), `d` the JSON. `p` is how a replay tells that messages after an
 * id were trimmed: trimming removes the oldest entries and leaves no trace of their ids (XINFO
 * STREAM's max-deleted-entry-id counts XDEL only), but the first entry left names the last one
 * gone. A stream that expired and began again starts over at "0-0", so an id of the old one
 * gets a reset (see readAfter).
 *
 * Pub/sub message: `${id}\n${event line}\n${json}`, the event line empty when there is no
 * event and `+${event}` when there is one (so even an empty event name survives). Event names
 * hold no newline (publish checks); the JSON comes last, so a newline in it would not matter.
 */
export const PUBLISH_SCRIPT = `
if KEYS[2] then
  local first = redis.call('GET', KEYS[2])
  if first then return first end
end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = '0-0'
if newest[1] then previous = newest[1][1] end
local id
local wire
if ARGV[6] then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'p', previous, 'e', ARGV[6], 'd', ARGV[5])
  wire = id .. '\\n+' .. ARGV[6] .. '\\n' .. ARGV[5]
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'p', previous, 'd', ARGV[5])
  wire = id .. '\\n\\n' .. ARGV[5]
end
if ARGV[2] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if KEYS[2] then
  redis.call('SET', KEYS[2], id, 'PX', ARGV[4])
end
redis.call('PUBLISH', ARGV[3], wire)
return id
`;

/**
 * The key remembering a publish with `dedupeKey` on the topic: `${prefix}dedupe:` then the
 * topic's length, so that no two (topic, key) pairs share one (topics hold colons too).
 */
export function dedupeKeyOf(prefix: string, topic: string, dedupeKey: string): string {
  return `${prefix}dedupe:${topic.length}:${topic}:${dedupeKey}`;
}

/** The name under which the script is defined on the command connection. */
export const PUBLISH_COMMAND = "sluicePublish";

/** A pub/sub message as the script publishes it, or undefined when it is not one. */
export function decodeWire(topic: string, wire: string): StoredMessage | undefined {
  const first = wire.indexOf("\n");
  if (first <= 0) return undefined;
  const second = wire.indexOf("\n", first + 1);
  if (second < 0) return undefined;
  const id = wire.slice(0, first);
  const event = second === first + 1 ? undefined : wire.slice(first + 2, second);
  return { topic, id, event, json: wire.slice(second + 1) };
}

/** The id of the entry before this one, as publish recorded it ("0-0" if it did not). */
export function previousId(entry: [id: string, fields: string[]]): string {
  const fields = entry[1];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "p") return fields[i + 1] as string;
  }
  return "0-0";
}

/** One XRANGE entry, `[id, [field, value, …]]`, as a message of the topic. */
export function decodeEntry(topic: string, entry: [id: string, fields: string[]]): StoredMessage {
  const [id, fields] = entry;
  let event: string | undefined;
  let json = "null";
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "d") json = fields[i + 1] as string;
    else if (fields[i] === "e") event = fields[i + 1];
  }
  return { topic, id, event, json };
}
