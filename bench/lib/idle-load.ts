import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { waitForSubscribers } from "./publisher-control.js";
import { SseClient } from "./sse-client.js";
import { BroadcastClient } from "./ws-client.js";
import type { Dialect } from "./ws-dialect.js";

/** Connections opened at once: more could overflow the server's accept backlog (511). */
const CONNECT_BATCH = 200;

/** Resident memory of process `pid`, in bytes, from /proc/<pid>/status. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

export interface IdleLoadOptions {
  port: number;
  pid: number;
  connections: number;
  /** SSE subscribers on /sse, or WebSocket subscribers on /ws/broadcast. */
  kind: "sse" | "ws";
  /** For "ws": how the clients speak to the server. */
  dialect: Dialect;
  /** Time the server gets to settle (lazy compilation, a full GC) before RSS is read. */
  settleMs: number;
}

export interface IdleLoadResult {
  /** RSS before any connection and with every one open and idle, in bytes. */
  before: number;
  after: number;
  /** (after − before) / connections. */
  bytesPerConnection: number;
}

interface Closable {
  close(): void;
  terminate?(): void;
}

/**
 * Reads the server's RSS, opens `connections` subscribers that then stay idle (nothing is
 * published), waits until the server counts them all and has settled, reads RSS again.
 * Then every client leaves and the server must let go of them.
 */
export async function runIdleLoad(options: IdleLoadOptions): Promise<IdleLoadResult> {
  const control = options.kind === "sse" ? "/sse" : "/ws";
  const before = await settledResidentBytes(options.pid, options.settleMs);
  const clients: Closable[] = [];
  try {
    while (clients.length < options.connections) {
      const batch = Math.min(CONNECT_BATCH, options.connections - clients.length);
      clients.push(...(await Promise.all(Array.from({ length: batch }, () => open(options)))));
    }
    await waitForSubscribers(options.port, control, clients.length, 30_000);
    const after = await settledResidentBytes(options.pid, options.settleMs);
    for (const client of clients) client.close();
    await waitForSubscribers(options.port, control, 0, 30_000);
    return { before, after, bytesPerConnection: (after - before) / options.connections };
  } finally {
    for (const client of clients) client.terminate?.() ?? client.close();
  }
}

/** RSS after a full GC (the server runs with --expose-gc; see bench/servers/ready.ts) and a pause. */
async function settledResidentBytes(pid: number, settleMs: number): Promise<number> {
  process.kill(pid, "SIGUSR2");
  await sleep(settleMs);
  return residentBytes(pid);
}

async function open(options: IdleLoadOptions): Promise<Closable> {
  if (options.kind === "ws") {
    return BroadcastClient.open(
      options.dialect.url(options.port, "/ws/broadcast"),
      undefined,
      options.dialect,
    );
  }
  const client = await SseClient.open(options.port, "/sse");
  await client.ready;
  if (client.error) throw client.error;
  return client;
}
