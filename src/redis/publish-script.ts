import type { StoredMessage } from "../topics/broker.js";

/**
 * Publishing, as one Lua script so it is atomic: XADD to the topic's stream (trimmed to about
 * `history` entries), PEXPIRE it (so a topic nobody publishes to goes away by itself), then
 * PUBLISH the message with the id XADD gave it. Scripts run one at a time, so every
 * subscriber, in every process, receives a topic's messages in stream order.
 *
 * KEYS[1] the stream; KEYS[2], for a publish with a dedupe key, that key's (see dedupeKeyOf).
 * ARGV: history, ttl (ms; "0": never expires, PERSIST), channel, dedupe window (ms; unused
 * without KEYS[2]), json, the wire's middle lines (see wireLines), then the optional entry
 * fields as name, value pairs (see entryFields).
 *
 * Dedupe: when KEYS[2] holds an id, the message was published within the window: the script
 * returns that id and stores and publishes nothing. Otherwise, after the XADD, KEYS[2] is set
 * to the new id with a PX of the window. Being inside the script, the check and the set are
 * one step: two processes publishing with one key at once store once.
 *
 * Stream entry fields: `p` the id of the entry before it ("0-0" for the first), `e` the event
 * (absent when there is none), `x` the client id `except` names (absent when none), `d` the
 * JSON. `p` is how a replay tells that messages after an
 * id were trimmed: trimming removes the oldest entries and leaves no trace of their ids (XINFO
 * STREAM's max-deleted-entry-id counts XDEL only), but the first entry left names the last one
 * gone. A stream that expired and began again starts over at "0-0", so an id of the old one
 * gets a reset (see readAfter). `except` is stored for the broker's own catch-up after its
 * pub/sub connection dropped (that is the same delivery, late: the sender must not get it);
 * a client's replay is another delivery, which ignores it, as on the memory broker.
 *
 * Pub/sub message (the wire), lines joined by `\n`:
 *
 *   id                the stream id; EMPTY for a live-only message (store: false, presence)
 *   [!clientId]       present when the message skips that client (`except`)
 *   [?join | ?leave]  present on a presence event
 *   event line        empty when there is no event, `+${event}` when there is one (so even an
 *                     empty event name survives)
 *   json              the rest, newlines and all
 *
 * The optional lines start with `!` or `?`, the event line with `+` or nothing, and the id
 * line is a stream id or empty: each line says what it is, so decodeWire is unambiguous. A
 * plain stored message is `${id}\n${event line}\n${json}`, as before except and presence.
 * Event names and client ids hold no newline (publish checks); the JSON comes last.
 *
 * Live-only messages are not published by this script but by a plain PUBLISH of the same
 * wire (see RedisBroker.publish): there is nothing to store, so nothing to make atomic, and
 * Redis runs one connection's commands in order, so a process's live-only and stored
 * publishes reach subscribers in the order it made them.
 */
export const PUBLISH_SCRIPT = `
if KEYS[2] then
  local first = redis.call('GET', KEYS[2])
  if first then return first end
end
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = '0-0'
if newest[1] then previous = newest[1][1] end
local fields = {'p', previous}
for i = 7, #ARGV - 1, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
fields[#fields + 1] = 'd'
fields[#fields + 1] = ARGV[5]
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
local wire = id .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[5]
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

/** The optional stream entry fields of a stored message, as name, value pairs. */
export function entryFields(event: string | undefined, except: string | undefined): string[] {
  const fields: string[] = [];
  if (event !== undefined) fields.push("e", event);
  if (except !== undefined) fields.push("x", except);
  return fields;
}

/** The name under which the script is defined on the command connection. */
export const PUBLISH_COMMAND = "sluicePublish";

/**
 * The wire's lines between the id and the JSON (see PUBLISH_SCRIPT): the `except` and
 * presence lines when there are any, then the event line.
 */
export function wireLines(
  event: string | undefined,
  except: string | undefined,
  presence: "join" | "leave" | undefined,
): string {
  let lines = "";
  if (except !== undefined) lines += `!${except}\n`;
  if (presence !== undefined) lines += `?${presence}\n`;
  return event === undefined ? lines : `${lines}+${event}`;
}

/** A pub/sub message as sluice publishes it, or undefined when it is not one. */
export function decodeWire(topic: string, wire: string): StoredMessage | undefined {
  let start = wire.indexOf("\n");
  if (start < 0) return undefined;
  const id = wire.slice(0, start);
  let except: string | undefined;
  let presence: "join" | "leave" | undefined;
  for (;;) {
    const end = wire.indexOf("\n", start + 1);
    if (end < 0) return undefined;
    const line = wire.slice(start + 1, end);
    start = end;
    if (line.startsWith("!")) except = line.slice(1);
    else if (line === "?join" || line === "?leave") presence = line.slice(1) as "join" | "leave";
    else if (line === "" || line.startsWith("+")) {
      const event = line === "" ? undefined : line.slice(1);
      const message: StoredMessage = { topic, id, event, json: wire.slice(end + 1) };
      // A presence event is live-only, and only sluice's wire has these lines.
      if (presence !== undefined && id !== "") return undefined;
      return withExtras(message, except, presence);
    } else return undefined;
  }
}

function withExtras(
  message: StoredMessage,
  except: string | undefined,
  presence: "join" | "leave" | undefined,
): StoredMessage {
  if (except === undefined && presence === undefined) return message;
  return {
    ...message,
    ...(except === undefined ? {} : { except }),
    ...(presence === undefined ? {} : { presence }),
  };
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
  let except: string | undefined;
  let json = "null";
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "d") json = fields[i + 1] as string;
    else if (fields[i] === "e") event = fields[i + 1];
    else if (fields[i] === "x") except = fields[i + 1];
  }
  return except === undefined ? { topic, id, event, json } : { topic, id, event, json, except };
}
