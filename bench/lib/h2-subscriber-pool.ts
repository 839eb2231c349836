import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { processCpuMicros } from "./cpu.js";
import type { StreamTarget } from "./h2-fanout-streams.js";
import { LatencyHistogram, type SparseBuckets } from "./latency-histogram.js";

/*
 * The subscriber processes of bench/h2-fanout.ts (bench/h2-fanout-subscribers.ts) and what
 * they say to it over IPC: one command at a time, each answered once (or with `failed`).
 */

/** How the streams are carried: one per HTTP/1.1 connection, or `streamsPerConnection` per h2 one. */
export type Carrier = { kind: "http1" } | { kind: "h2"; streamsPerConnection: number };

export type PoolCommand =
  | { type: "connect"; target: StreamTarget; carrier: Carrier; connections: number }
  | { type: "window-start" }
  | { type: "window-end" }
  | { type: "finish"; published: number; timeoutMs: number };

export interface StreamsReport {
  streams: number;
  received: number;
  lost: number;
  duplicates: number;
  malformed: number;
  errors: string[];
  latency: SparseBuckets;
}

export type PoolAnswer =
  | { type: "connected"; streams: number }
  | { type: "received"; received: number }
  | { type: "finished"; report: StreamsReport }
  | { type: "failed"; message: string };

/**
 * Connections a process holds at most: with its own files, under the default soft limit of
 * 1 024 open files, so nothing needs raising on the subscribers' side.
 */
const CONNECTIONS_PER_PROCESS = 500;
const ENTRY = fileURLToPath(new URL("../h2-fanout-subscribers.ts", import.meta.url));
const ANSWER_TIMEOUT_MS = 60_000;

/** The processes, started once for the whole run; each case spreads its connections over them. */
export class H2SubscriberPool {
  private constructor(private readonly children: ChildProcess[]) {}

  /** Enough processes for `connections` at most at once. */
  static async start(connections: number): Promise<H2SubscriberPool> {
    const count = Math.max(1, Math.ceil(connections / CONNECTIONS_PER_PROCESS));
    const children = Array.from({ length: count }, () =>
      fork(ENTRY, [], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
    await Promise.all(children.map((child) => once(child, "spawn")));
    return new H2SubscriberPool(children);
  }

  /** CPU time the subscriber processes have used, in µs. */
  cpuMicros(): number {
    return this.children.reduce((sum, child) => sum + processCpuMicros(child.pid ?? 0), 0);
  }

  /** Opens `connections` connections to `target`, spread over the processes; resolves the streams open. */
  async connect(target: StreamTarget, carrier: Carrier, connections: number): Promise<number> {
    const answers = await Promise.all(
      this.children.map((child, i) =>
        ask(child, {
          type: "connect",
          target,
          carrier,
          connections: share(connections, this.children.length, i),
        }),
      ),
    );
    return answers.reduce((sum, answer) => sum + (answer as { streams: number }).streams, 0);
  }

  windowStart(): Promise<number> {
    return this.received({ type: "window-start" });
  }

  windowEnd(): Promise<number> {
    return this.received({ type: "window-end" });
  }

  /** Waits (bounded) for every stream to have `published` events; reports, then disconnects. */
  async finish(
    published: number,
    timeoutMs: number,
  ): Promise<StreamsReport & { histogram: LatencyHistogram }> {
    const answers = await Promise.all(
      this.children.map((child) => ask(child, { type: "finish", published, timeoutMs })),
    );
    const histogram = new LatencyHistogram();
    const total: StreamsReport = {
      streams: 0,
      received: 0,
      lost: 0,
      duplicates: 0,
      malformed: 0,
      errors: [],
      latency: [],
    };
    for (const answer of answers) {
      const part = (answer as { report: StreamsReport }).report;
      total.streams += part.streams;
      total.received += part.received;
      total.lost += part.lost;
      total.duplicates += part.duplicates;
      total.malformed += part.malformed;
      total.errors.push(...part.errors);
      histogram.merge(part.latency);
    }
    return { ...total, histogram };
  }

  stop(): void {
    for (const child of this.children) if (child.connected) child.disconnect();
  }

  private async received(command: PoolCommand): Promise<number> {
    const answers = await Promise.all(this.children.map((child) => ask(child, command)));
    return answers.reduce((sum, answer) => sum + (answer as { received: number }).received, 0);
  }
}

async function ask(child: ChildProcess, command: PoolCommand): Promise<PoolAnswer> {
  const answer = new Promise<PoolAnswer>((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`subscriber process ${child.pid}: no answer to ${command.type}`)),
      ANSWER_TIMEOUT_MS,
    );
    const onMessage = (message: PoolAnswer) => done(undefined, message);
    const onExit = (code: number | null) =>
      done(new Error(`subscriber process ${child.pid} exited (${code}) during ${command.type}`));
    const done = (error?: Error, message?: PoolAnswer) => {
      clearTimeout(timer);
      child.off("message", onMessage).off("exit", onExit);
      if (error) reject(error);
      else if (message?.type === "failed") reject(new Error(`subscribers: ${message.message}`));
      else resolve(message as PoolAnswer);
    };
    child.on("message", onMessage).on("exit", onExit);
  });
  child.send(command);
  return answer;
}

/** Process `index`'s part of `total` spread over `processes`. */
function share(total: number, processes: number, index: number): number {
  return Math.floor(total / processes) + (index < total % processes ? 1 : 0);
}
