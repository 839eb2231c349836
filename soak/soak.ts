// One soak run: start the server process, warm it up, take the baseline, churn, let the
// server settle, take its stats again and compare them with the baseline.
import { setTimeout as sleep } from "node:timers/promises";
import { type Check, compareWithBaseline, type Tolerances } from "./checks.js";
import {
  type ChurnOptions,
  type ChurnProgress,
  type ChurnResult,
  checkChurnOptions,
  runChurn,
} from "./churn.js";
import type { ServerStats } from "./protocol.js";
import { SoakServer } from "./server-process.js";

export interface SoakOptions extends Omit<ChurnOptions, "url" | "onProgress"> {
  /** Clients of the warm-up churn, run before the baseline (code compiled, pools sized). */
  warmUpClients: number;
  /** How long the server gets to come back to idle after the churn. */
  settleTimeoutMs: number;
  tolerances: Tolerances;
  /** Environment variables for the server process (SOAK_INJECT_LEAK, say). */
  serverEnv?: Record<string, string>;
  /** Progress lines, for the long run. */
  log?: (line: string) => void;
}

export interface SoakReport {
  options: SoakOptions;
  baseline: ServerStats;
  after: ServerStats;
  /** Highest long-lived connections the server counted at once (polled every second). */
  serverPeakHeld: number;
  churn: ChurnResult;
  warmUp: ChurnResult;
  checks: Check[];
  /** How long the server took to come back to idle after the churn. */
  settleMs: number;
  ok: boolean;
}

const POLL_MS = 200;
const SERVER_POLL_MS = 1000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  // Checked before a server is started for nothing.
  checkChurnOptions({ ...options, url: "" });
  if (!Number.isSafeInteger(options.warmUpClients) || options.warmUpClients < 1) {
    throw new RangeError(
      `warmUpClients must be a whole number >= 1 (the baseline follows a warm-up), got ${options.warmUpClients}`,
    );
  }
  const log = options.log ?? (() => {});
  await using server = await SoakServer.start(options.serverEnv);
  log(`server at ${server.url}; warming up with ${options.warmUpClients} clients`);
  const warmUp = await runChurn({
    ...options,
    url: server.url,
    clients: options.warmUpClients,
    concurrency: Math.min(options.concurrency, 50),
    holdMs: { min: 20, max: 300 },
    rampMs: 0,
    durationMs: 60_000,
  });
  await settle(server, idleCounts, options.settleTimeoutMs);
  const baseline = await server.stats(true);
  log(`baseline: rss ${mib(baseline.rss)}, heapUsed ${mib(baseline.heapUsed)}; churning`);

  const serverPeak = trackServerPeak(server);
  const churn = await runChurn({
    ...options,
    url: server.url,
    onProgress: (progress) => log(describeProgress(progress)),
  });
  const serverPeakHeld = await serverPeak.stop();
  log(`churn done in ${(churn.elapsedMs / 1000).toFixed(1)} s; settling`);
  const settleMs = await settle(
    server,
    (stats) => idleCounts(stats) && sameCounts(stats, baseline),
    options.settleTimeoutMs,
  );
  const after = await server.stats(true);
  const checks = compareWithBaseline(baseline, after, churn, options.tolerances);
  return {
    options,
    baseline,
    after,
    serverPeakHeld,
    churn,
    warmUp,
    checks,
    settleMs,
    ok: warmUp.failureCount === 0 && checks.every((check) => check.ok),
  };
}

/** No connection held, no subscriber, no producer or handler still running. */
function idleCounts(stats: ServerStats): boolean {
  return (
    stats.serverConnections === 0 &&
    stats.connections.websocket === 0 &&
    stats.connections.sse === 0 &&
    stats.topicSubscribers === 0 &&
    stats.producers.started === stats.producers.finished &&
    stats.websocketHandlers.started === stats.websocketHandlers.finished
  );
}

/** The same handles and listeners as the baseline. */
function sameCounts(stats: ServerStats, baseline: ServerStats): boolean {
  return (
    sameRecord(stats.resources, baseline.resources) &&
    sameRecord(stats.listeners, baseline.listeners)
  );
}

function sameRecord(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => (a[key] ?? 0) === (b[key] ?? 0));
}

/**
 * Polls the server (without GC) until `done(stats)` or the timeout; resolves with the time it
 * took. On timeout it resolves too: the checks that follow say what did not come back.
 */
async function settle(
  server: SoakServer,
  done: (stats: ServerStats) => boolean,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (done(await server.stats(false))) break;
    await sleep(POLL_MS);
  }
  return performance.now() - started;
}

/** Polls app.connections every second during the churn; `stop()` gives the highest seen. */
function trackServerPeak(server: SoakServer): { stop(): Promise<number> } {
  let peak = 0;
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = server.stats(false).then(
      (stats) => {
        peak = Math.max(peak, stats.connections.websocket + stats.connections.sse);
      },
      () => {},
    );
  }, SERVER_POLL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await polling;
      return peak;
    },
  };
}

function describeProgress(progress: ChurnProgress): string {
  return [
    `${(progress.elapsedMs / 1000).toFixed(0)} s:`,
    `${progress.started} started,`,
    `${progress.finished} done,`,
    `${progress.held} held (peak ${progress.peakHeld}),`,
    `${progress.failures} failures`,
  ].join(" ");
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Memory after the churn, after full GCs, against before. RSS gets room because neither V8
 * nor glibc malloc hands every freed page back to the OS (V8 keeps some spaces' pages for
 * reuse, malloc keeps freed chunks in its arenas, and the sockets' buffers were malloc'd),
 * so RSS after a peak settles above where it started even without a leak. heapUsed is
 * measured after full GCs, so it gets far less: a leak of a few hundred bytes per client
 * would exceed it over a long run. Numbers: see the figures in soak/README.md.
 */
export const DEFAULT_TOLERANCES: Tolerances = {
  rssBytes: 20 * 1024 * 1024,
  rssFraction: 0.25,
  heapBytes: 4 * 1024 * 1024,
};
