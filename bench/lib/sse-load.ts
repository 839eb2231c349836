import { setTimeout as sleep } from "node:timers/promises";
import { openWindows, type Window } from "./cpu.js";
import { LatencyRecorder } from "./latency.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";
import { SseClient } from "./sse-client.js";
import { processWriteCalls } from "./write-calls.js";

/** Connections opened at once: more could overflow the server's accept backlog (511). */
const CONNECT_BATCH = 100;
const DELIVERY_TIMEOUT_MS = 10_000;
/** Where the SSE servers' control routes are. */
const CONTROL = "/sse";

export interface SseLoadOptions {
  port: number;
  /** Server process whose CPU time is read. */
  pid: number;
  /** The SSE route; the control routes are under /sse (see bench/lib/publisher-control.ts). */
  path: string;
  clients: number;
  /** Events/s the server publishes, or 0 for as fast as it delivers them. */
  rate: number;
  /** Events published together (at `rate` 100 and `burst` 1, one every 10 ms). */
  burst: number;
  warmupMs: number;
  durationMs: number;
  /**
   * More instances of the same app (sharing a broker): the clients are spread evenly over this
   * server and them, the producer runs on this one, and the server CPU is their sum.
   */
  others?: { port: number; pid: number }[];
}

export interface SseLoadResult {
  /** Events received in the window, summed over all clients. */
  deliveries: number;
  /** Events the producer published in the whole run, warm-up included. */
  published: number;
  /** The server's write system calls in the window (NaN without /proc/<pid>/io). */
  writeCalls: number;
  window: Window;
  /** Publish-to-receipt times of the events received in the window. */
  latency: LatencyRecorder;
}

/**
 * Subscribes `clients` raw sockets, has the server publish for warm-up then `duration`, and
 * counts the events they receive in the window. Then every client must have received every
 * published event (no loss), and the server must let go of every client once they leave.
 */
export async function runSseLoad(options: SseLoadOptions): Promise<SseLoadResult> {
  const { port } = options;
  const servers = [{ port, pid: options.pid }, ...(options.others ?? [])];
  const pids = servers.map((server) => server.pid);
  const latency = new LatencyRecorder();
  const clients: SseClient[] = [];
  let published: number | undefined;
  try {
    for (const [i, server] of servers.entries()) {
      const count = share(options.clients, servers.length, i);
      clients.push(...(await openClients(server.port, options.path, count, latency)));
      await waitForSubscribers(server.port, CONTROL, count);
    }
    await startPublishing(port, CONTROL, options.rate, options.burst);
    await sleep(options.warmupMs);
    const before = delivered(clients);
    const writesBefore = totalWriteCalls(pids);
    const closeWindow = openWindows(pids);
    latency.recording = true;
    await sleep(options.durationMs);
    latency.recording = false;
    const window = closeWindow();
    const writeCalls = totalWriteCalls(pids) - writesBefore;
    const deliveries = delivered(clients) - before;
    published = await stopPublishing(port, CONTROL);
    await allDelivered(clients, published);
    for (const client of clients) client.close();
    for (const server of servers) await waitForSubscribers(server.port, CONTROL, 0);
    return { deliveries, published, writeCalls, window, latency };
  } finally {
    if (published === undefined) await stopPublishing(port, CONTROL).catch(() => 0);
    for (const client of clients) client.close();
  }
}

async function openClients(
  port: number,
  path: string,
  count: number,
  latency?: LatencyRecorder,
): Promise<SseClient[]> {
  const clients: SseClient[] = [];
  try {
    while (clients.length < count) {
      const batch = Math.min(CONNECT_BATCH, count - clients.length);
      const opened = await Promise.all(
        Array.from({ length: batch }, () => SseClient.open(port, path, latency)),
      );
      clients.push(...opened);
      await Promise.all(opened.map((client) => client.ready));
      failIfAny(opened);
    }
  } catch (error) {
    for (const client of clients) client.close();
    throw error;
  }
  return clients;
}

/** Waits until each client has `published` events; fails when one misses some or errs. */
async function allDelivered(clients: SseClient[], published: number): Promise<void> {
  const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
  while (clients.some((client) => client.events < published && !client.error)) {
    if (performance.now() > deadline) break;
    await sleep(20);
  }
  failIfAny(clients);
  const wrong = clients.filter((client) => client.events !== published);
  if (wrong.length === 0) return;
  const counts = wrong.map((client) => client.events);
  throw new Error(
    `${wrong.length} of ${clients.length} SSE clients did not receive exactly the ${published} events published (received ${Math.min(...counts)} to ${Math.max(...counts)})`,
  );
}

function failIfAny(clients: SseClient[]): void {
  const failed = clients.filter((client) => client.error);
  if (failed.length === 0) return;
  throw new Error(`${failed.length} SSE clients failed: ${failed[0].error?.message}`);
}

/** Server `index`'s part of `total` clients spread over `servers`. */
function share(total: number, servers: number, index: number): number {
  return Math.floor(total / servers) + (index < total % servers ? 1 : 0);
}

function totalWriteCalls(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (processWriteCalls(pid) ?? Number.NaN), 0);
}

function delivered(clients: SseClient[]): number {
  return clients.reduce((sum, client) => sum + client.events, 0);
}
