import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { processCpuMicros } from "./cpu.js";
import { LatencyHistogram } from "./latency-histogram.js";
import type {
  SubscriberAnswer,
  SubscriberCommand,
  SubscribersReport,
  Transport,
  TransportReport,
} from "./subscriber-protocol.js";

/**
 * Subscribers a process holds at most: with the process's own files (~20), well under the
 * default soft limit of 1 024 open files, so no limit needs raising on the subscriber side.
 */
export const SUBSCRIBERS_PER_PROCESS = 500;
const ENTRY = fileURLToPath(new URL("../hub-fanout-subscribers.ts", import.meta.url));
const ANSWER_TIMEOUT_MS = 60_000;

/** Every transport's report, summed over the processes, with their latencies merged. */
export interface PoolReport {
  transports: Record<Transport, TransportReport & { histogram: LatencyHistogram }>;
  /** Both transports' latencies together. */
  latency: LatencyHistogram;
}

/**
 * The subscriber processes of bench/hub-fanout.ts (bench/hub-fanout-subscribers.ts), started
 * once and reused for every run: each gets an even share of the SSE and WebSocket subscribers.
 * They inherit this process's CPU affinity (the load generator's core).
 */
export class SubscriberPool {
  private constructor(private readonly children: ChildProcess[]) {}

  /** Enough processes for `subscribers` connections, SUBSCRIBERS_PER_PROCESS at most each. */
  static async start(subscribers: number): Promise<SubscriberPool> {
    const count = Math.max(1, Math.ceil(subscribers / SUBSCRIBERS_PER_PROCESS));
    const children = Array.from({ length: count }, () =>
      fork(ENTRY, [], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
    await Promise.all(children.map((child) => once(child, "spawn")));
    return new SubscriberPool(children);
  }

  get pids(): number[] {
    return this.children.map((child) => child.pid ?? 0);
  }

  /** CPU time the subscriber processes have used, in µs. */
  cpuMicros(): number {
    return this.pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  }

  async connect(port: number, path: string, topic: string, sse: number, ws: number): Promise<void> {
    await Promise.all(
      this.children.map((child, i) =>
        ask(child, {
          type: "connect",
          port,
          path,
          topic,
          sse: share(sse, this.children.length, i),
          ws: share(ws, this.children.length, i),
        }),
      ),
    );
  }

  /** Starts recording latencies; resolves the messages received so far, summed. */
  windowStart(): Promise<number> {
    return this.receivedAfter({ type: "window-start" });
  }

  /** Stops recording latencies; resolves the messages received so far, summed. */
  windowEnd(): Promise<number> {
    return this.receivedAfter({ type: "window-end" });
  }

  /** Waits for the last messages, then what every subscriber received; disconnects them. */
  async finish(published: number, timeoutMs: number): Promise<PoolReport> {
    const answers = await Promise.all(
      this.children.map((child) => ask(child, { type: "finish", published, timeoutMs })),
    );
    const reports = answers.map((answer) => (answer as { report: SubscribersReport }).report);
    const latency = new LatencyHistogram();
    const transports = { sse: merged(reports, "sse"), ws: merged(reports, "ws") };
    for (const transport of Object.values(transports)) latency.merge(transport.latency);
    return { transports, latency };
  }

  stop(): void {
    for (const child of this.children) if (child.connected) child.disconnect();
  }

  private async receivedAfter(command: SubscriberCommand): Promise<number> {
    const answers = await Promise.all(this.children.map((child) => ask(child, command)));
    return answers.reduce((sum, answer) => sum + (answer as { received: number }).received, 0);
  }
}

/** Sends one command and resolves its answer; a `failed` answer, an exit or silence rejects. */
async function ask(child: ChildProcess, command: SubscriberCommand): Promise<SubscriberAnswer> {
  const answer = new Promise<SubscriberAnswer>((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`subscriber process ${child.pid}: no answer to ${command.type}`)),
      ANSWER_TIMEOUT_MS,
    );
    const onMessage = (message: SubscriberAnswer) => done(undefined, message);
    const onExit = (code: number | null) =>
      done(new Error(`subscriber process ${child.pid} exited (${code}) during ${command.type}`));
    const done = (error?: Error, message?: SubscriberAnswer) => {
      clearTimeout(timer);
      child.off("message", onMessage).off("exit", onExit);
      if (error) reject(error);
      else if (message?.type === "failed") reject(new Error(`subscribers: ${message.message}`));
      else resolve(message as SubscriberAnswer);
    };
    child.on("message", onMessage).on("exit", onExit);
  });
  child.send(command);
  return answer;
}

function merged(reports: SubscribersReport[], transport: Transport) {
  const histogram = new LatencyHistogram();
  const total: TransportReport = {
    subscribers: 0,
    received: 0,
    lost: 0,
    duplicates: 0,
    malformed: 0,
    errors: [],
    latency: [],
  };
  for (const report of reports) {
    const part = report[transport];
    total.subscribers += part.subscribers;
    total.received += part.received;
    total.lost += part.lost;
    total.duplicates += part.duplicates;
    total.malformed += part.malformed;
    total.errors.push(...part.errors);
    histogram.merge(part.latency);
  }
  return { ...total, latency: histogram.sparse(), histogram };
}

/** Process `index`'s part of `total` spread over `processes`. */
function share(total: number, processes: number, index: number): number {
  return Math.floor(total / processes) + (index < total % processes ? 1 : 0);
}
