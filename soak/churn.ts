// The churn: `clients` clients of every kind, at most `concurrency` at a time, each connecting,
// checking what it receives, holding for a random time and leaving (cleanly or abruptly),
// until all have run or time is up. Used by soak/run.ts (the long soak) and
// test/soak.test.ts (the short one).
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent } from "undici";
import {
  type ClientKind,
  type ClientPlan,
  LEAVE_MODES,
  type LeaveMode,
  runClient,
} from "./clients.js";

export interface ChurnOptions {
  /** The server's base URL. */
  url: string;
  /** Clients to run in all. */
  clients: number;
  /** Clients running at once (so connections held at most). */
  concurrency: number;
  /** No client starts after this many ms, and holds still running then are cut short. */
  durationMs: number;
  /** Each client holds its connection for a random time in [min, max] ms. */
  holdMs: { min: number; max: number };
  /** The workers start spread over this many ms, not in one burst of SYNs. */
  rampMs: number;
  /** How long a client waits for its connection and first message. */
  firstMessageTimeoutMs: number;
  /** Seeds the random mix and hold times, so that a run can be repeated. */
  seed: number;
  /** Called about every `progressEveryMs` with how things stand. */
  onProgress?: (progress: ChurnProgress) => void;
  progressEveryMs?: number;
}

export interface ChurnProgress {
  elapsedMs: number;
  started: number;
  finished: number;
  held: number;
  peakHeld: number;
  failures: number;
}

export interface ClientFailure {
  kind: ClientKind;
  leave: LeaveMode;
  message: string;
}

export interface ChurnResult {
  /** Clients started (fewer than asked if time ran out). */
  started: number;
  /** Clients that ran to their end, failed or not. */
  finished: number;
  /** Started clients by kind. */
  byKind: Record<string, number>;
  /** Long-lived clients by how they left. */
  byLeave: Record<string, number>;
  /** Long-lived connections established, and left. */
  opened: number;
  closed: number;
  /** Most long-lived connections held at once. */
  peakHeld: number;
  /** Plain JSON requests made. */
  jsonRequests: number;
  /** Clients that failed, and the first MAX_FAILURES_KEPT of their failures. */
  failureCount: number;
  failures: ClientFailure[];
  elapsedMs: number;
  /** Long-lived connections opened plus closed, per second of churn. */
  churnRate: number;
  /** True if the duration ended the churn before every client had started. */
  timeUp: boolean;
}

/** Shares of each kind in the mix (they need not add up to 1). */
const KIND_WEIGHTS: [ClientKind, number][] = [
  ["sse-topic", 0.3],
  ["websocket", 0.3],
  ["sse-stream", 0.15],
  ["ndjson", 0.15],
  ["json", 0.1],
];
/** Half leave cleanly, a quarter close the socket under the protocol, a quarter reset it. */
const LEAVE_WEIGHTS: [LeaveMode, number][] = [
  ["clean", 0.5],
  ["destroy", 0.25],
  ["reset", 0.25],
];
const MAX_FAILURES_KEPT = 50;

/** A small seeded PRNG (mulberry32): the same seed gives the same mix and hold times. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(weights: [T, number][], random: () => number): T {
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  let point = random() * total;
  for (const [value, weight] of weights) {
    point -= weight;
    if (point < 0) return value;
  }
  return weights[weights.length - 1][0];
}

export function planClients(options: ChurnOptions): ClientPlan[] {
  const random = seededRandom(options.seed);
  const { min, max } = options.holdMs;
  return Array.from({ length: options.clients }, () => ({
    kind: pick(KIND_WEIGHTS, random),
    leave: pick(LEAVE_WEIGHTS, random),
    holdMs: Math.round(min + random() * (max - min)),
  }));
}

export function checkChurnOptions(options: ChurnOptions): void {
  const positive = { clients: options.clients, concurrency: options.concurrency };
  for (const [name, value] of Object.entries(positive)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive whole number, got ${value}`);
    }
  }
  if (!(options.durationMs > 0 && Number.isFinite(options.durationMs))) {
    throw new RangeError(`durationMs must be a positive finite number, got ${options.durationMs}`);
  }
  const { min, max } = options.holdMs;
  if (!(min >= 0 && max >= min && Number.isFinite(max))) {
    throw new RangeError(`holdMs needs 0 <= min <= max, got ${min}..${max}`);
  }
}

/** Counts connections as clients open and leave them. */
class HeldConnections {
  held = 0;
  peak = 0;
  opened = 0;
  closed = 0;

  readonly events = {
    opened: () => {
      this.opened++;
      this.held++;
      this.peak = Math.max(this.peak, this.held);
    },
    closed: () => {
      this.closed++;
      this.held--;
    },
  };
}

export async function runChurn(options: ChurnOptions): Promise<ChurnResult> {
  checkChurnOptions(options);
  const plans = planClients(options);
  const dispatcher = new Agent({ connections: null, pipelining: 0 });
  const timeUp = new AbortController();
  // Every holding client listens for it: as many listeners as clients at once, by design.
  setMaxListeners(Number.POSITIVE_INFINITY, timeUp.signal);
  const deadline = setTimeout(() => timeUp.abort(), options.durationMs);
  const connections = new HeldConnections();
  const failures: ClientFailure[] = [];
  let failureCount = 0;
  const byKind: Record<string, number> = {};
  const byLeave: Record<string, number> = Object.fromEntries(LEAVE_MODES.map((m) => [m, 0]));
  let started = 0;
  let finished = 0;
  const startedAt = performance.now();
  const progress = () => ({
    elapsedMs: performance.now() - startedAt,
    started,
    finished,
    held: connections.held,
    peakHeld: connections.peak,
    failures: failureCount,
  });
  const reporter = options.onProgress
    ? setInterval(() => options.onProgress?.(progress()), options.progressEveryMs ?? 10_000)
    : undefined;
  const env = {
    url: options.url,
    dispatcher,
    stop: timeUp.signal,
    firstMessageTimeoutMs: options.firstMessageTimeoutMs,
  };

  async function worker(index: number): Promise<void> {
    await sleep((options.rampMs * index) / options.concurrency);
    while (started < plans.length && !timeUp.signal.aborted) {
      const plan = plans[started++];
      byKind[plan.kind] = (byKind[plan.kind] ?? 0) + 1;
      if (plan.kind !== "json") byLeave[plan.leave]++;
      try {
        await runClient(plan, env, connections.events);
      } catch (error) {
        failureCount++;
        if (failures.length < MAX_FAILURES_KEPT) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push({ kind: plan.kind, leave: plan.leave, message });
        }
      }
      finished++;
    }
  }

  try {
    const workers = Math.min(options.concurrency, plans.length);
    await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  } finally {
    clearTimeout(deadline);
    clearInterval(reporter);
    // Closes the keep-alive connections fetch and EventSource left idle.
    await dispatcher.close();
  }
  const elapsedMs = performance.now() - startedAt;
  return {
    started,
    finished,
    byKind,
    byLeave,
    opened: connections.opened,
    closed: connections.closed,
    peakHeld: connections.peak,
    jsonRequests: byKind.json ?? 0,
    failureCount,
    failures,
    elapsedMs,
    churnRate: (connections.opened + connections.closed) / (elapsedMs / 1000),
    timeUp: started < plans.length,
  };
}
