import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { once } from "node:events";
import { get, type IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type RawData, WebSocket } from "ws";
import { jsonPayload, makeRow } from "../servers/rows.js";
import { sseData } from "../servers/sse-events.js";
import { broadcastData, echoText } from "../servers/ws-messages.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";

const ROWS = 1000;
const SSE_CLIENTS = 20;
/** How long the SSE check publishes, as fast as the clients take events. */
const SSE_PUBLISH_MS = 300;
const WS_CLIENTS = 20;
const WS_PUBLISH_MS = 300;
/** What the echo route must send back as it came: text (not all ASCII), binary, the bench's message. */
const ECHOES: [string | Buffer, boolean][] = [
  ["héllo, wörld ✓", false],
  [Buffer.from([0, 1, 2, 0x7f, 0x80, 0xff]), true],
  [echoText(0, 0), false],
];

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

/**
 * Every subscriber must receive every published event, in order, as EventSource would parse them (read with
 * node:http's client, not the benchmark's event counter), and the server must let go of every
 * subscriber once they leave.
 */
export function checkSse(name: string, port: number): Promise<void> {
  return withContext(name, "/sse", async () => {
    const responses = await Promise.all(Array.from({ length: SSE_CLIENTS }, () => subscribe(port)));
    const texts = responses.map(collectText);
    try {
      for (const response of responses) {
        strictEqual(response.statusCode, 200, "status");
        match(response.headers["content-type"] ?? "", /^text\/event-stream\b/, "content-type");
      }
      await waitForSubscribers(port, "/sse", SSE_CLIENTS);
      await startPublishing(port, "/sse", 0);
      await sleep(SSE_PUBLISH_MS);
      const published = await stopPublishing(port, "/sse");
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
      texts.forEach((text, i) => {
        const events = parseEvents(text());
        deepStrictEqual(events, expected, `client ${i}: the ${published} events, in order`);
      });
    } finally {
      for (const response of responses) response.destroy();
    }
    await waitForSubscribers(port, "/sse", 0);
  });
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

/**
 * WebSocket, with `ws`'s own client (UTF-8 checked): the echo route sends back each message as
 * it came (text or binary, same bytes); every broadcast subscriber receives every published
 * message, in order, byte for byte, as text; the server lets go of every client that closes.
 */
export async function checkWebSocket(name: string, port: number): Promise<void> {
  await withContext(name, "/ws/echo", async () => {
    const ws = await openWebSocket(port, "/ws/echo");
    try {
      for (const [data, binary] of ECHOES) {
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
  await withContext(name, "/ws/broadcast", async () => {
    const sockets = await Promise.all(
      Array.from({ length: WS_CLIENTS }, () => openWebSocket(port, "/ws/broadcast")),
    );
    const received = sockets.map(collectMessages);
    try {
      await waitForSubscribers(port, "/ws", WS_CLIENTS);
      await startPublishing(port, "/ws", 0);
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
      received.forEach((messages, i) => {
        const texts = messages.map(unstamped);
        deepStrictEqual(texts, expected, `client ${i}: the ${published} messages, in order`);
      });
    } finally {
      for (const ws of sockets) ws.close(1000);
    }
    await waitForSubscribers(port, "/ws", 0);
  });
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
