import { setTimeout as sleep } from "node:timers/promises";
import { openWindow, type Window } from "./cpu.js";
import { LatencyRecorder } from "./latency.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";
import { processWriteCalls } from "./write-calls.js";
import { BroadcastClient, EchoClient } from "./ws-client.js";
import { type Dialect, plainWebSocket } from "./ws-dialect.js";

/** Connections opened at once: more could overflow the server's accept backlog (511). */
const CONNECT_BATCH = 100;
const DELIVERY_TIMEOUT_MS = 10_000;
/** Where the WebSocket servers' control routes are. */
const CONTROL = "/ws";

export interface WsLoadOptions {
  port: number;
  /** Server process whose CPU time is read. */
  pid: number;
  /** The WebSocket route. */
  path: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** How the clients speak to the server (socket.io's packets, or plain messages). */
  dialect?: Dialect;
}

export interface WsLoadResult {
  /** Echo: round trips completed in the window; broadcast: messages received, summed over all clients. */
  messages: number;
  /** The server's write system calls in the window (NaN without /proc/<pid>/io). */
  writeCalls: number;
  window: Window;
  /** Echo: round-trip times; broadcast: publish-to-receipt times (in the window). */
  latency: LatencyRecorder;
}

/**
 * `clients` closed-loop echo clients, each with one message in flight, for warm-up then
 * `duration`; counts the round trips in the window. Then the server must let go of every
 * client once they leave.
 */
export async function runWsEcho(options: WsLoadOptions): Promise<WsLoadResult> {
  const dialect = options.dialect ?? plainWebSocket;
  const url = dialect.url(options.port, options.path);
  const latency = new LatencyRecorder();
  let id = 0;
  const clients = await openClients(options.clients, () =>
    EchoClient.open(url, id++, latency, dialect),
  );
  try {
    for (const client of clients) client.start();
    const result = await measure(options, latency, () =>
      total(clients, (client) => client.roundTrips),
    );
    for (const client of clients) client.stop();
    failIfAny(clients);
    await leave(options.port, clients);
    return result;
  } finally {
    for (const client of clients) client.terminate();
  }
}

/**
 * Subscribes `clients` to the broadcast, has the server publish (`rate` messages/s, or as
 * fast as delivered when 0) for warm-up then `duration`, and counts the messages received in
 * the window. Then every client must have received every published message, in order (each
 * client checks every message's `seq`), and the server must let go of every client.
 */
export async function runWsBroadcast(options: WsLoadOptions & { rate: number; burst: number }) {
  const { port } = options;
  const dialect = options.dialect ?? plainWebSocket;
  const url = dialect.url(port, options.path);
  const latency = new LatencyRecorder();
  const clients = await openClients(options.clients, () =>
    BroadcastClient.open(url, latency, dialect),
  );
  let published: number | undefined;
  try {
    await waitForSubscribers(port, CONTROL, clients.length);
    await startPublishing(port, CONTROL, options.rate, options.burst);
    const result = await measure(options, latency, () =>
      total(clients, (client) => client.received),
    );
    published = await stopPublishing(port, CONTROL);
    await allDelivered(clients, published);
    await leave(port, clients);
    return { ...result, published };
  } finally {
    if (published === undefined) await stopPublishing(port, CONTROL).catch(() => 0);
    for (const client of clients) client.terminate();
  }
}

/** Waits for the warm-up, then counts `messages()` and the server's CPU and writes over `duration`. */
async function measure(
  options: WsLoadOptions,
  latency: LatencyRecorder,
  messages: () => number,
): Promise<WsLoadResult> {
  await sleep(options.warmupMs);
  const before = messages();
  const writesBefore = processWriteCalls(options.pid) ?? Number.NaN;
  const closeWindow = openWindow(options.pid);
  latency.recording = true;
  await sleep(options.durationMs);
  latency.recording = false;
  const window = closeWindow();
  const writeCalls = (processWriteCalls(options.pid) ?? Number.NaN) - writesBefore;
  return { messages: messages() - before, writeCalls, window, latency };
}

async function openClients<T extends EchoClient | BroadcastClient>(
  count: number,
  open: () => Promise<T>,
): Promise<T[]> {
  const clients: T[] = [];
  try {
    while (clients.length < count) {
      const batch = Math.min(CONNECT_BATCH, count - clients.length);
      const opened = await Promise.allSettled(Array.from({ length: batch }, open));
      for (const result of opened) if (result.status === "fulfilled") clients.push(result.value);
      const failed = opened.find((result) => result.status === "rejected");
      if (failed) {
        const reason = (failed.reason as Error).message;
        throw new Error(`a WebSocket client could not connect: ${reason}`, {
          cause: failed.reason,
        });
      }
    }
  } catch (error) {
    for (const client of clients) client.terminate();
    throw error;
  }
  return clients;
}

/** Every client closes (a close handshake); the server must count no subscriber and no open WebSocket. */
async function leave(port: number, clients: (EchoClient | BroadcastClient)[]): Promise<void> {
  for (const client of clients) client.close();
  await waitForSubscribers(port, CONTROL, 0);
}

/** Waits until each client has `published` messages; fails when one misses some or errs. */
async function allDelivered(clients: BroadcastClient[], published: number): Promise<void> {
  const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
  while (clients.some((client) => client.received < published && !client.error)) {
    if (performance.now() > deadline) break;
    await sleep(20);
  }
  failIfAny(clients);
  const wrong = clients.filter((client) => client.received !== published);
  if (wrong.length === 0) return;
  const counts = wrong.map((client) => client.received);
  throw new Error(
    `${wrong.length} of ${clients.length} WebSocket clients did not receive exactly the ${published} messages published (received ${Math.min(...counts)} to ${Math.max(...counts)})`,
  );
}

function failIfAny(clients: (EchoClient | BroadcastClient)[]): void {
  const failed = clients.filter((client) => client.error);
  if (failed.length === 0) return;
  throw new Error(`${failed.length} WebSocket clients failed: ${failed[0].error?.message}`);
}

function total<T>(clients: T[], count: (client: T) => number): number {
  return clients.reduce((sum, client) => sum + count(client), 0);
}
