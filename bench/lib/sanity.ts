import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { once } from "node:events";
import { get, type IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type RawData, WebSocket } from "ws";
import { jsonPayload, makeRow } from "../servers/rows.js";
import { sseData } from "../servers/sse-events.js";
import { broadcastData, echoText } from "../servers/ws-messages.js";
import type { Echo } from "./peers.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";
import { envelopeDataStart } from "./ws-dialect.js";

const ROWS = 1000;
const SSE_CLIENTS = 20;
/** How long the SSE check publishes, as fast as the clients take events. */
const SSE_PUBLISH_MS = 300;
const WS_CLIENTS = 20;
const WS_PUBLISH_MS = 300;
/**
 * The broadcast checks of a server that publishes at a fixed rate only (no saturation run):
 * messages/s, in bursts of 1 (SSE) or 10 (WebSocket), as in scenarios (a) and (b).
 */
const CHECK_RATE = 1000;
const WS_CHECK_BURST = 10;
/** An id of sluice's topics: `<epoch>-<n>`. */
const STREAM_ID = /^(\d+)-(\d+)$/;
/** What the echo route must send back as it came: text (not all ASCII), binary, the bench's message. */
const ECHOES: [string | Buffer, boolean][] = [
  ["héllo, wörld ✓", false],
  [Buffer.from([0, 1, 2, 0x7f, 0x80, 0xff]), true],
  [echoText(0, 0), false],
];
/** What a JSON echo route must send back, byte for byte: the bench's message, one not ASCII. */
const JSON_ECHOES: [string, boolean][] = [
  [echoText(0, 0), false],
  ['{"seq":1,"client":2,"text":"héllo, wörld ✓"}', false],
];
/** A message a route with the echo messages' schema must refuse (seq is not a number). */
const OFF_SCHEMA = '{"seq":"one","client":0,"text":"hello"}';
/** The close code of a message that breaks its route's schema (src/websocket/close-codes.ts). */
const POLICY_VIOLATION = 1008;
const REFUSAL_TIMEOUT_MS = 5000;

/** Checks a server answers what the benchmark expects before its speed is measured. */
export function checkJson(name: string, port: number, path: string): Promise<void> {
  return withContext(name, path, async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    strictEqual(response.status, 200, "status");
    deepStrictEqual(await response.json(), jsonPayload(), "body");
  });
}

/** A small stream must arrive whole: every row, in order, each on its own line. */
export function checkNdjson(name: string, port: number, path: string): Promise<void> {
  return withContext(name, path, async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}?rows=${ROWS}`);
    strictEqual(response.status, 200, "status");
    const lines = (await response.text()).split("\n");
    strictEqual(lines.pop(), "", "the stream ends with a newline");
    strictEqual(lines.length, ROWS, "row count");
    lines.forEach((line, i) => {
      strictEqual(line, JSON.stringify(makeRow(i)), `row ${i}`);
    });
  });
}

/** How a broadcast check publishes, and what the server's messages carry besides the plain ones. */
export interface BroadcastCheckOptions {
  /** Publish as fast as delivered (the server takes part in a saturation run), else at a fixed rate. */
  saturate: boolean;
  /**
   * sluice topics: SSE ids are the broker's (`<epoch>-<n>`, strictly increasing, the same for
   * every client) rather than `seq`; each WebSocket message is the topic envelope around it.
   */
  topics: boolean;
}

const PLAIN: BroadcastCheckOptions = { saturate: true, topics: false };

/**
 * Every subscriber must receive every published event, in order, as EventSource would parse them (read with
 * node:http's client, not the benchmark's event counter), and the server must let go of every
 * subscriber once they leave.
 */
export function checkSse(name: string, port: number, options = PLAIN): Promise<void> {
  return withContext(name, "/sse", async () => {
    const responses = await Promise.all(Array.from({ length: SSE_CLIENTS }, () => subscribe(port)));
    const texts = responses.map(collectText);
    try {
      for (const response of responses) {
        strictEqual(response.statusCode, 200, "status");
        match(response.headers["content-type"] ?? "", /^text\/event-stream\b/, "content-type");
      }
      await waitForSubscribers(port, "/sse", SSE_CLIENTS);
      await startPublishing(port, "/sse", options.saturate ? 0 : CHECK_RATE);
      await sleep(SSE_PUBLISH_MS);
      const published = await stopPublishing(port, "/sse");
      ok(published > 0, "events were published");
      const expected = Array.from({ length: published }, (_, seq) => ({
        id: String(seq),
        event: "message",
        data: sseData(seq, 0),
      }));
      const deadline = performance.now() + 5000;
      while (texts.some((text) => parseEvents(text()).length < published)) {
        if (performance.now() > deadline) break;
        await sleep(20);
      }
      const parsed = texts.map((text) => parseEvents(text()));
      const clientEvents = options.topics ? checkTopicIds(parsed, expected) : parsed;
      clientEvents.forEach((events, i) => {
        deepStrictEqual(events, expected, `client ${i}: the ${published} events, in order`);
      });
    } finally {
      for (const response of responses) response.destroy();
    }
    await waitForSubscribers(port, "/sse", 0);
  });
}

/**
 * sluice topics: each client's ids must be the broker's, strictly increasing, and the same
 * for every client (one id per message; a client that missed some fails the count after). Returns the events with the ids the other servers
 * send (`seq`), so they compare as every server's do.
 */
function checkTopicIds(clientEvents: ParsedEvent[][], expected: ParsedEvent[]): ParsedEvent[][] {
  const ids = longest(clientEvents).map((event) => event.id);
  checkIdOrder(ids);
  return clientEvents.map((events, i) => {
    const theirs = events.map((event) => event.id);
    deepStrictEqual(theirs, ids.slice(0, theirs.length), `client ${i}: the same ids as the others`);
    return events.map((event, n) => ({ ...event, id: expected[n]?.id ?? event.id }));
  });
}

/** The list with the most items (what a client that missed none received). */
export function longest<T>(lists: T[][]): T[] {
  return lists.reduce((most, list) => (list.length > most.length ? list : most), []);
}

/** Topic ids, `<epoch>-<n>`, each after the one before. */
export function checkIdOrder(ids: string[]): void {
  ids.forEach((id, n) => {
    match(id, STREAM_ID, `message ${n}: a topic id`);
    const before = ids[n - 1];
    if (before !== undefined) ok(compareIds(before, id) < 0, `ids increase: ${before}, ${id}`);
  });
}

/** Orders two `<epoch>-<n>` ids (numbers of any length). */
function compareIds(a: string, b: string): number {
  const [, aTime, aSeq] = STREAM_ID.exec(a) ?? [];
  const [, bTime, bSeq] = STREAM_ID.exec(b) ?? [];
  const time = BigInt(aTime ?? 0) - BigInt(bTime ?? 0);
  const diff = time !== 0n ? time : BigInt(aSeq ?? 0) - BigInt(bSeq ?? 0);
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

async function subscribe(port: number): Promise<IncomingMessage> {
  const request = get({ host: "127.0.0.1", port, path: "/sse", agent: false });
  const [response] = (await once(request, "response")) as [IncomingMessage];
  return response;
}

/** Collects a response's body; the returned function reads what has arrived so far. */
function collectText(response: IncomingMessage): () => string {
  let text = "";
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    text += chunk;
  });
  response.on("error", () => {}); // destroyed at the end of the check
  return () => text;
}

export interface WebSocketCheckOptions extends BroadcastCheckOptions {
  /** What the server's echo route sends back, if it has one (it takes part in scenario (c)). */
  echo: Echo | undefined;
  /** The server has a broadcast route (it takes part in scenario (b) or (b+)). */
  broadcast: boolean;
}

/**
 * WebSocket, with `ws`'s own client (UTF-8 checked): the echo route sends back each message as
 * it came (text or binary, same bytes; a JSON echo: JSON text, the same bytes; with a schema,
 * a message that breaks it closes the socket with 1008); every broadcast subscriber receives
 * every published message, in order, byte for byte, as text (sluice topics: inside the topic
 * envelope); the server lets go of every client that closes.
 */
export async function checkWebSocket(
  name: string,
  port: number,
  options: WebSocketCheckOptions = { ...PLAIN, echo: "bytes", broadcast: true },
): Promise<void> {
  if (options.echo) await checkEcho(name, port, options.echo);
  if (options.echo === "schema") await checkSchemaRefusal(name, port);
  if (options.broadcast) await checkBroadcast(name, port, options);
}

async function checkEcho(name: string, port: number, echo: Echo): Promise<void> {
  await withContext(name, "/ws/echo", async () => {
    const ws = await openWebSocket(port, "/ws/echo");
    try {
      for (const [data, binary] of echo === "bytes" ? ECHOES : JSON_ECHOES) {
        const reply = once(ws, "message") as Promise<[RawData, boolean]>;
        ws.send(data, { binary });
        const [echoed, isBinary] = await reply;
        strictEqual(isBinary, binary, "frame type");
        deepStrictEqual(echoed, Buffer.from(data), "echoed bytes");
      }
    } finally {
      ws.close(1000);
    }
    await waitForSubscribers(port, "/ws", 0);
  });
}

/** A message that breaks the echo route's schema closes the socket with 1008. */
async function checkSchemaRefusal(name: string, port: number): Promise<void> {
  await withContext(name, "/ws/echo", async () => {
    const ws = await openWebSocket(port, "/ws/echo");
    const signal = AbortSignal.timeout(REFUSAL_TIMEOUT_MS);
    const answer = Promise.race([once(ws, "close", { signal }), once(ws, "message", { signal })]);
    ws.send(OFF_SCHEMA);
    try {
      const [code, reason] = (await answer) as [unknown, Buffer];
      const what = typeof code === "number" ? `a close ${code} (${reason})` : `the reply ${code}`;
      strictEqual(code, POLICY_VIOLATION, `${OFF_SCHEMA} must close the socket 1008, got ${what}`);
    } finally {
      ws.terminate();
    }
    await waitForSubscribers(port, "/ws", 0);
  });
}

async function checkBroadcast(name: string, port: number, options: BroadcastCheckOptions) {
  await withContext(name, "/ws/broadcast", async () => {
    const sockets = await Promise.all(
      Array.from({ length: WS_CLIENTS }, () => openWebSocket(port, "/ws/broadcast")),
    );
    const received = sockets.map(collectMessages);
    try {
      await waitForSubscribers(port, "/ws", WS_CLIENTS);
      if (options.saturate) await startPublishing(port, "/ws", 0);
      else await startPublishing(port, "/ws", CHECK_RATE, WS_CHECK_BURST);
      await sleep(WS_PUBLISH_MS);
      const published = await stopPublishing(port, "/ws");
      ok(published > 0, "messages were published");
      const expected = Array.from({ length: published }, (_, seq) =>
        JSON.stringify(broadcastData(seq, 0)),
      );
      const deadline = performance.now() + 5000;
      while (received.some((messages) => messages.length < published)) {
        if (performance.now() > deadline) break;
        await sleep(20);
      }
      const clientMessages = options.topics ? unwrapEnvelopes(received) : received;
      clientMessages.forEach((messages, i) => {
        const texts = messages.map(unstamped);
        deepStrictEqual(texts, expected, `client ${i}: the ${published} messages, in order`);
      });
    } finally {
      for (const ws of sockets) ws.close(1000);
    }
    await waitForSubscribers(port, "/ws", 0);
  });
}

interface Envelope {
  topic: unknown;
  id: unknown;
  event: unknown;
  data: unknown;
}

/**
 * sluice topics: every message must be an envelope `{"topic","id","event":"message","data"}`
 * (the same topic throughout, ids as checkTopicIds wants them) whose data, the published JSON
 * byte for byte, is where the load client reads it (envelopeDataStart) and runs to
 * the envelope's closing brace. Returns each client's data texts.
 */
function unwrapEnvelopes(received: string[][]): string[][] {
  const parsed = received.map((messages) =>
    messages.map((text) => ({ text, envelope: JSON.parse(text) as Envelope })),
  );
  const first = longest(parsed);
  const topic = first[0]?.envelope.topic;
  ok(typeof topic === "string" && topic !== "", `a topic in ${first[0]?.text}`);
  const ids = first.map(({ envelope }) => String(envelope.id));
  checkIdOrder(ids);
  return parsed.map((messages, i) =>
    messages.map(({ text, envelope }, n) => {
      deepStrictEqual(Object.keys(envelope), ["topic", "id", "event", "data"], "envelope keys");
      const { data, ...head } = envelope;
      deepStrictEqual(head, { topic, id: ids[n], event: "message" }, `client ${i}: ${text}`);
      const start = envelopeDataStart(Buffer.from(text));
      strictEqual(text.at(-1), "}", "the envelope ends after the data");
      const dataText = text.slice(start, -1);
      deepStrictEqual(JSON.parse(dataText), data, `client ${i}: the data where it is read`);
      return dataText;
    }),
  );
}

async function openWebSocket(port: number, path: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  ws.on("error", () => {}); // once() below sees a failed handshake; later errors fail the checks
  await once(ws, "open");
  return ws;
}

/** Collects a socket's messages as they arrive: text as strings, binary as a marker. */
function collectMessages(ws: WebSocket): string[] {
  const messages: string[] = [];
  ws.on("message", (data: RawData, isBinary: boolean) => {
    messages.push(isBinary ? "(a binary message)" : String(data));
  });
  return messages;
}

interface ParsedEvent {
  id: string;
  event: string;
  data: string;
}

/**
 * The events of an SSE body as EventSource dispatches them (fields in any order, with or
 * without a space after the colon; comments and `retry:` ignored; no data, no event), with
 * publish times set to 0: servers format events differently, and the check is about what
 * a client receives.
 */
function parseEvents(text: string): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  for (const block of text.split("\n\n").slice(0, -1)) {
    const fields = new Map<string, string[]>();
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      fields.set(name, [...(fields.get(name) ?? []), value]);
    }
    const data = fields.get("data");
    if (!data) continue;
    const id = fields.get("id")?.at(-1) ?? "";
    const event = fields.get("event")?.at(-1) || "message";
    events.push({ id, event, data: unstamped(data.join("\n")) });
  }
  return events;
}

/** The text with every publish time (`"t":` and a number) set to 0. */
export function unstamped(text: string): string {
  return text.replace(/"t":[0-9.e+-]+/g, '"t":0');
}

/** Runs a check; a failure names the server and the route. */
export async function withContext(name: string, path: string, check: () => Promise<void>) {
  try {
    await check();
  } catch (error) {
    throw new Error(`sanity check failed for ${name} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
