import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type FanoutServer, startFanoutServer } from "./fanout-server.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./publisher-control.js";
import type { ScaleConfig } from "./scale-config.js";
import { preciseCpuMicros } from "./scale-cpu.js";
import type { ScaleAnswer, ScaleCommand, ScaleKind, ScaleReport } from "./scale-protocol.js";
import type { Sample } from "./stats.js";
import { SubscriberProcesses } from "./subscriber-processes.js";

const SUBSCRIBERS_ENTRY = fileURLToPath(new URL("../scale-subscribers.ts", import.meta.url));
/** Time a full GC (SIGUSR2, bench/servers/ready.ts) gets before RSS is read. */
const SETTLE_MS = 500;
/** How long the last events may take to reach every subscriber once publishing stopped. */
const DELIVERY_TIMEOUT_MS = 15_000;
const QUIET_POLL_MS = 5;
/** Events' time a quiet moment may take to come before the run fails as behind. */
const QUIET_WAIT_EVENTS = 6;
/** ...and never less than this (at higher rates, a few events' time is short). */
const QUIET_WAIT_MIN_MS = 3000;

/** A server of the curve: the fan-out servers of `npm run bench`, (a) and (b). */
export interface ScaleServer {
  label: string;
  script: string;
}

export const SCALE_SERVERS: ScaleServer[] = [
  { label: "node:http", script: "node-http.ts" },
  { label: "sluice", script: "sluice.ts" },
];

/** Where each kind's subscribers and control routes are (bench/servers/node-http-*.ts). */
const CONTROL: Record<ScaleKind, string> = { sse: "/sse", ws: "/ws" };

export type ScalePool = SubscriberProcesses<ScaleCommand, ScaleAnswer>;

/** Enough subscriber processes for `subscribers`, 500 each at most, on this process's core. */
export function startScalePool(subscribers: number): Promise<ScalePool> {
  return SubscriberProcesses.start<ScaleCommand, ScaleAnswer>(SUBSCRIBERS_ENTRY, subscribers);
}

/**
 * One run of one server and one kind of subscriber: a fresh server (its RSS read after a full
 * GC), then, for each count of the curve, subscribers added up to it at the connect rate, RSS
 * read again, and events published at the fixed rate for warm-up then the measured window.
 * Every subscriber must then have received every event published at that count once, or the
 * run fails. Resolves one sample per count.
 */
export async function measureCurve(
  server: ScaleServer,
  kind: ScaleKind,
  config: ScaleConfig,
  pool: ScalePool,
): Promise<Sample[]> {
  const largest = config.counts[config.counts.length - 1];
  const running = await startScaleServer(server, largest, config.dist);
  try {
    const fresh = await settledRss(running);
    const samples: Sample[] = [];
    for (const count of config.counts) {
      await pool.askEach((share) => ({
        type: "connect",
        port: running.port,
        kind,
        total: share(count),
        perSecond: Math.max(1, share(config.connectRate)),
      }));
      await waitForSubscribers(running.port, CONTROL[kind], count, 30_000);
      const rss = await settledRss(running);
      const window = await publishWindow(running, kind, config, pool, count);
      samples.push({
        subscribers: count,
        ...window,
        "RSS KB/connection": (rss - fresh) / 1024 / count,
        "server RSS MB": rss / 2 ** 20,
      });
    }
    return samples;
  } finally {
    await pool.askAll({ type: "close" });
    await running.stop();
  }
}

function startScaleServer(server: ScaleServer, connections: number, dist: boolean) {
  const entry = fileURLToPath(new URL(`../servers/${server.script}`, import.meta.url));
  const argv = [process.execPath, "--expose-gc", "--import", "tsx", entry];
  const env = { ...process.env, BENCH_SLUICE_DIST: dist ? "1" : "0" };
  return startFanoutServer(server.label, argv, connections, env);
}

/** RSS after a full GC and a pause, in bytes. */
async function settledRss(server: FanoutServer): Promise<number> {
  process.kill(server.pid, "SIGUSR2");
  await sleep(SETTLE_MS);
  return server.rss();
}

/** Publishes at the fixed rate; measures the window; checks every delivery. */
async function publishWindow(
  server: FanoutServer,
  kind: ScaleKind,
  config: ScaleConfig,
  pool: ScalePool,
  count: number,
): Promise<Sample> {
  await pool.askAll({ type: "reset" });
  await startPublishing(server.port, CONTROL[kind], config.rate, 1);
  let published: number | undefined;
  try {
    await sleep(config.warmupMs);
    const receivedBefore = await betweenEvents(pool, count, config.rate);
    const cpuBefore = preciseCpuMicros(server.pid);
    const startedAt = performance.now();
    await sleep(config.durationMs);
    const deliveries = (await betweenEvents(pool, count, config.rate)) - receivedBefore;
    const cpu = preciseCpuMicros(server.pid) - cpuBefore;
    const seconds = (performance.now() - startedAt) / 1000;
    published = await stopPublishing(server.port, CONTROL[kind]);
    checkDeliveries(await finish(pool, published), kind, count, published);
    return {
      "server CPU µs/delivery": cpu / deliveries,
      "server CPU %": (cpu / 1e6 / seconds) * 100,
      "deliveries/s": deliveries / seconds,
      "delivered % of due": (deliveries / (count * config.rate * seconds)) * 100,
      "events published": published,
      "deliveries checked": published * count,
    };
  } finally {
    if (published === undefined) await stopPublishing(server.port, CONTROL[kind]).catch(() => 0);
  }
}

/**
 * Waits for a quiet moment between two events, when every subscriber has every event
 * published so far (the count received is a whole number of events), and resolves that count.
 * The window opens and closes there: at a few events per second, a window that cut through
 * an event's fan-out (10 000 writes, ~100 ms) would count its CPU and its deliveries unevenly.
 */
async function betweenEvents(pool: ScalePool, count: number, rate: number): Promise<number> {
  const waitMs = Math.max(QUIET_WAIT_MIN_MS, QUIET_WAIT_EVENTS * (1000 / rate));
  const deadline = performance.now() + waitMs;
  for (;;) {
    const received = await pool.received({ type: "received" });
    if (received % count === 0) return received;
    if (performance.now() > deadline) {
      throw new Error(
        `${count} subscribers never had every event published at once for ${waitMs / 1000} s: the server or the subscribers are behind`,
      );
    }
    await sleep(QUIET_POLL_MS);
  }
}

async function finish(pool: ScalePool, published: number): Promise<ScaleReport[]> {
  const answers = await pool.askAll({
    type: "finish",
    published,
    timeoutMs: DELIVERY_TIMEOUT_MS,
  });
  return answers.map((answer) => (answer as Extract<ScaleAnswer, { type: "finished" }>).report);
}

/** Fails the run unless each of the `count` subscribers got each of the `published` events once. */
function checkDeliveries(
  reports: ScaleReport[],
  kind: ScaleKind,
  count: number,
  published: number,
): void {
  const subscribers = reports.reduce((sum, report) => sum + report.subscribers, 0);
  const wrong = reports.reduce((sum, report) => sum + report.wrong, 0);
  if (subscribers === count && wrong === 0 && published > 0) return;
  const problems = reports.flatMap((report) => report.problems).slice(0, 3);
  throw new Error(
    `${kind} at ${count} subscribers: ${wrong} of ${subscribers} subscribers did not receive exactly the ${published} events published, each once (${problems.join("; ") || "no event published"})`,
  );
}
