import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { type RawData, WebSocket } from "ws";
import { BROADCAST_TOPIC, broadcastData } from "../servers/ws-messages.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";
import { checkIdOrder, longest, unstamped, withContext } from "./sanity.js";
import { REALTIME_PROTOCOL, realtimeDataStart } from "./ws-dialect.js";

/*
 * The sluice realtime peer's check, with `ws` clients speaking sluice.v1 (docs/protocol.md):
 * the server selects the subprotocol and welcomes; a topic outside the endpoint's `subscribe`
 * rule is refused with "forbidden" and the connection stays up; every subscriber of the bench
 * topic receives every published message, in order, as a message frame whose data is the
 * published JSON, read where the load client reads it; the server lets go of every client.
 */
const CLIENTS = 20;
const PUBLISH_MS = 300;
/** As in scenario (b): the server publishes at a fixed rate only. */
const RATE = 1000;
const BURST = 10;
const FRAME_TIMEOUT_MS = 5000;

export async function checkRealtime(name: string, port: number): Promise<void> {
  await withContext(name, "/ws/broadcast", () => checkBroadcast(port));
}

async function checkBroadcast(port: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(port)));
  try {
    await clients[0].request({ type: "subscribe", ref: "no", topic: "not-allowed" }, "forbidden");
    for (const client of clients) {
      await client.request({ type: "subscribe", ref: 1, topic: BROADCAST_TOPIC });
    }
    await waitForSubscribers(port, "/ws", CLIENTS);
    await startPublishing(port, "/ws", RATE, BURST);
    await sleep(PUBLISH_MS);
    const published = await stopPublishing(port, "/ws");
    ok(published > 0, "messages were published");
    const deadline = performance.now() + FRAME_TIMEOUT_MS;
    while (clients.some((client) => client.frames.length < published)) {
      if (performance.now() > deadline) break;
      await sleep(20);
    }
    checkMessages(
      clients.map((client) => client.frames),
      published,
    );
  } finally {
    for (const client of clients) client.ws.close(1000);
  }
  await waitForSubscribers(port, "/ws", 0);
}

interface MessageFrame {
  type: unknown;
  topic: unknown;
  id: unknown;
  event: unknown;
  data: unknown;
}

/** Each client's frames: the `published` messages, in order, ids the same for all and increasing. */
function checkMessages(received: string[][], published: number): void {
  const expected = Array.from({ length: published }, (_, seq) =>
    JSON.stringify(broadcastData(seq, 0)),
  );
  const ids = longest(received).map((text) => String((JSON.parse(text) as MessageFrame).id));
  checkIdOrder(ids);
  received.forEach((frames, i) => {
    const texts = frames.map((text, n) => {
      const { data, ...head } = JSON.parse(text) as MessageFrame;
      const want = { type: "message", topic: BROADCAST_TOPIC, id: ids[n], event: "message" };
      deepStrictEqual(head, want, `client ${i}: ${text}`);
      const start = realtimeDataStart(Buffer.from(text));
      ok(start > 0, `client ${i}: the load client finds the data in ${text}`);
      strictEqual(text.at(-1), "}", "the frame ends after the data");
      const dataText = text.slice(start, -1);
      deepStrictEqual(JSON.parse(dataText), data, `client ${i}: the data where it is read`);
      return unstamped(dataText);
    });
    deepStrictEqual(texts, expected, `client ${i}: the ${published} messages, in order`);
  });
}

/** Opens a sluice.v1 connection and checks its welcome. */
async function connect(port: number): Promise<RealtimeClient> {
  const client = new RealtimeClient(`ws://127.0.0.1:${port}/ws/broadcast`);
  try {
    await once(client.ws, "open");
    strictEqual(client.ws.protocol, REALTIME_PROTOCOL, "the subprotocol selected");
    const welcome = JSON.parse(await client.next("the welcome")) as Record<string, unknown>;
    strictEqual(welcome.type, "welcome", "the first frame");
    strictEqual(welcome.protocol, REALTIME_PROTOCOL, "the welcome's protocol");
    strictEqual(typeof welcome.clientId, "string", "the welcome's clientId");
  } catch (error) {
    client.ws.terminate();
    throw error;
  }
  return client;
}

/** A `ws` client that queues the server's frames: replies apart, messages in `frames`. */
class RealtimeClient {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  private readonly others: string[] = [];
  private failure: Error | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url, REALTIME_PROTOCOL, { perMessageDeflate: false });
    this.ws.on("message", (data: RawData, isBinary: boolean) => {
      const text = isBinary ? "(a binary frame)" : String(data);
      if (isMessage(text)) this.frames.push(text);
      else this.others.push(text);
    });
    this.ws.on("error", (error) => {
      this.failure ??= new Error(`the WebSocket failed: ${error.message}`);
    });
    this.ws.on("close", (code) => {
      this.failure ??= new Error(`the server closed the WebSocket (${code})`);
    });
  }

  /** Sends `frame` and checks its reply: ok, or an error with `code`; the socket stays open. */
  async request(
    frame: { ref: string | number; [field: string]: unknown },
    code?: string,
  ): Promise<void> {
    this.ws.send(JSON.stringify(frame));
    const reply = JSON.parse(await this.next(`the reply to ${JSON.stringify(frame)}`)) as {
      type: unknown;
      ref: unknown;
      ok: unknown;
      error?: { code: unknown };
    };
    const what = `the reply to ${JSON.stringify(frame)}`;
    strictEqual(reply.type, "reply", what);
    strictEqual(reply.ref, frame.ref, `${what}: its ref`);
    strictEqual(reply.ok, code === undefined, `${what}: ok`);
    if (code !== undefined) strictEqual(reply.error?.code, code, `${what}: the error code`);
    strictEqual(this.ws.readyState, WebSocket.OPEN, `${what}: the connection stays open`);
  }

  /** The next frame that is not a message; fails after FRAME_TIMEOUT_MS or once closed. */
  async next(what: string): Promise<string> {
    const deadline = performance.now() + FRAME_TIMEOUT_MS;
    for (;;) {
      const frame = this.others.shift();
      if (frame !== undefined) return frame;
      if (this.failure) throw this.failure;
      if (performance.now() > deadline) throw new Error(`no ${what} within ${FRAME_TIMEOUT_MS} ms`);
      await sleep(5);
    }
  }
}

function isMessage(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown }).type === "message";
  } catch {
    return false;
  }
}
