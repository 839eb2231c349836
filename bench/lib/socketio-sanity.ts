import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { type RawData, WebSocket } from "ws";
import { broadcastData, echoText } from "../servers/ws-messages.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";
import { unstamped, withContext } from "./sanity.js";

/*
 * The socket.io peer's check, with a `ws` client speaking engine.io v4 / socket.io v5 text
 * packets by hand, as the load generator does: `0{...}` opens the engine.io session, `40/nsp,`
 * joins a namespace (answered `40/nsp,{"sid":...}`), `42/nsp,[event, data]` is an event, and the
 * server's ping `2` is answered `3`.
 */
const BROADCAST_CLIENTS = 20;
const PUBLISH_MS = 300;
/** How long a packet the check waits for may take. */
const PACKET_TIMEOUT_MS = 5000;
/** What the echo namespace must send back byte for byte: the bench's message, and non-ASCII text. */
const ECHOES = [
  echoText(0, 0),
  echoText(1, 1),
  JSON.stringify({ seq: 2, client: 0, text: "héllo, wörld ✓" }),
];

/**
 * Echo: every "echo" event comes back as the same packet. Broadcast: every subscriber receives
 * every published "tick", in order, as the expected packet (publish time aside). The server
 * lets go of every client that closes.
 */
export async function checkSocketIo(name: string, port: number): Promise<void> {
  await withContext(name, "/echo", () => checkEcho(port));
  await withContext(name, "/broadcast", () => checkBroadcast(port));
}

async function checkEcho(port: number): Promise<void> {
  const client = await connect(port, "/echo");
  try {
    for (const data of ECHOES) {
      const packet = `42/echo,["echo",${data}]`;
      client.send(packet);
      strictEqual(await client.next("the echo"), packet, "the echoed packet");
    }
  } finally {
    client.close();
  }
  await waitForSubscribers(port, "/ws", 0);
}

async function checkBroadcast(port: number): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: BROADCAST_CLIENTS }, () => connect(port, "/broadcast")),
  );
  for (const client of clients) client.collect();
  try {
    await waitForSubscribers(port, "/ws", BROADCAST_CLIENTS);
    await startPublishing(port, "/ws", 0);
    await sleep(PUBLISH_MS);
    const published = await stopPublishing(port, "/ws");
    ok(published > 0, "messages were published");
    const expected = Array.from({ length: published }, (_, seq) => tickPacket(seq));
    const deadline = performance.now() + PACKET_TIMEOUT_MS;
    while (clients.some((client) => client.received.length < published)) {
      if (performance.now() > deadline) break;
      await sleep(20);
    }
    clients.forEach((client, i) => {
      const packets = client.received.map(unstamped);
      deepStrictEqual(packets, expected, `client ${i}: the ${published} ticks, in order`);
    });
  } finally {
    for (const client of clients) client.close();
  }
  await waitForSubscribers(port, "/ws", 0);
}

/** Tick `seq` on the wire, with publish time 0. */
function tickPacket(seq: number): string {
  return `42/broadcast,["tick",${JSON.stringify(broadcastData(seq, 0))}]`;
}

/** Opens an engine.io session over WebSocket and joins namespace `nsp`. */
async function connect(port: number, nsp: string): Promise<EngineClient> {
  const client = new EngineClient(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  try {
    const open = await client.next("the engine.io open packet");
    match(open, /^0\{/, "the engine.io open packet");
    const handshake = JSON.parse(open.slice(1)) as { sid?: unknown; upgrades?: unknown };
    strictEqual(typeof handshake.sid, "string", "the session id in the open packet");
    deepStrictEqual(handshake.upgrades, [], "no transport upgrades offered");
    client.send(`40${nsp},`);
    match(
      await client.next(`the ${nsp} join ack`),
      new RegExp(`^40${nsp},\\{"sid":"[^"]+"\\}$`),
      "namespace joined",
    );
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/** Who waits for the next packet. */
interface Waiter {
  resolve(packet: string): void;
  reject(error: Error): void;
}

/**
 * A `ws` client that answers the server's pings and hands out every other packet as text: one
 * at a time while joining (next()), then, once collecting, all of them in `received`.
 */
class EngineClient {
  readonly received: string[] = [];
  private readonly ws: WebSocket;
  private readonly queued: string[] = [];
  private waiter: Waiter | undefined;
  private collecting = false;
  private failure: Error | undefined;

  constructor(url: string) {
    // Listening from the start: the open packet may arrive before an `open` listener would run.
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on("message", (data: RawData, isBinary: boolean) => {
      this.onPacket(isBinary ? "(a binary message)" : String(data));
    });
    this.ws.on("error", (error) => this.fail(`the WebSocket failed: ${error.message}`));
    this.ws.on("close", (code) => this.fail(`the server closed the WebSocket (${code})`));
  }

  send(packet: string): void {
    this.ws.send(packet);
  }

  /** The next packet; rejects if none comes within PACKET_TIMEOUT_MS or the socket closes. */
  next(what: string): Promise<string> {
    const packet = this.queued.shift();
    if (packet !== undefined) return Promise.resolve(packet);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no packet within ${PACKET_TIMEOUT_MS} ms (waiting for ${what})`));
      }, PACKET_TIMEOUT_MS);
      const settle = () => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      this.waiter = {
        resolve: (next) => {
          settle();
          resolve(next);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
    });
  }

  /** From now on, packets go to `received`. */
  collect(): void {
    this.collecting = true;
    this.received.push(...this.queued.splice(0));
  }

  close(): void {
    this.ws.close(1000);
  }

  private onPacket(packet: string): void {
    // engine.io v4: the server pings, the client pongs.
    if (packet === "2") this.ws.send("3");
    else if (this.collecting) this.received.push(packet);
    else if (this.waiter) this.waiter.resolve(packet);
    else this.queued.push(packet);
  }

  private fail(reason: string): void {
    this.failure ??= new Error(reason);
    this.waiter?.reject(this.failure);
  }
}
