import { fileURLToPath } from "node:url";
import { addCounts, noDeliveries } from "./delivery-counts.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { CONNECTIONS_PER_PROCESS, SubscriberProcesses } from "./subscriber-processes.js";
import type {
  SubscriberAnswer,
  SubscriberCommand,
  SubscribersReport,
  Transport,
  TransportReport,
} from "./subscriber-protocol.js";

/** Subscribers a process holds at most (bench/lib/subscriber-processes.ts says why). */
export const SUBSCRIBERS_PER_PROCESS = CONNECTIONS_PER_PROCESS;
const ENTRY = fileURLToPath(new URL("../hub-fanout-subscribers.ts", import.meta.url));

/** Every transport's report, summed over the processes, with their latencies merged. */
export interface PoolReport {
  transports: Record<Transport, TransportReport & { histogram: LatencyHistogram }>;
  /** Both transports' latencies together. */
  latency: LatencyHistogram;
}

/**
 * The subscriber processes of bench/hub-fanout.ts (bench/hub-fanout-subscribers.ts), started
 * once and reused for every run: each gets an even share of the SSE and WebSocket subscribers.
 */
export class SubscriberPool {
  private constructor(
    private readonly processes: SubscriberProcesses<SubscriberCommand, SubscriberAnswer>,
  ) {}

  /** Enough processes for `subscribers` connections, SUBSCRIBERS_PER_PROCESS at most each. */
  static async start(subscribers: number): Promise<SubscriberPool> {
    return new SubscriberPool(await SubscriberProcesses.start(ENTRY, subscribers));
  }

  get pids(): number[] {
    return this.processes.pids;
  }

  /** CPU time the subscriber processes have used, in µs. */
  cpuMicros(): number {
    return this.processes.cpuMicros();
  }

  async connect(port: number, path: string, topic: string, sse: number, ws: number): Promise<void> {
    await this.processes.askEach((share) => ({
      type: "connect",
      port,
      path,
      topic,
      sse: share(sse),
      ws: share(ws),
    }));
  }

  /** Starts recording latencies; resolves the messages received so far, summed. */
  windowStart(): Promise<number> {
    return this.processes.received({ type: "window-start" });
  }

  /** Stops recording latencies; resolves the messages received so far, summed. */
  windowEnd(): Promise<number> {
    return this.processes.received({ type: "window-end" });
  }

  /** Waits for the last messages, then what every subscriber received; disconnects them. */
  async finish(published: number, timeoutMs: number): Promise<PoolReport> {
    const answers = await this.processes.askAll({ type: "finish", published, timeoutMs });
    const reports = answers.map((answer) => (answer as { report: SubscribersReport }).report);
    const latency = new LatencyHistogram();
    const transports = { sse: merged(reports, "sse"), ws: merged(reports, "ws") };
    for (const transport of Object.values(transports)) latency.merge(transport.latency);
    return { transports, latency };
  }

  stop(): void {
    this.processes.stop();
  }
}

function merged(reports: SubscribersReport[], transport: Transport) {
  const histogram = new LatencyHistogram();
  const total: TransportReport = { subscribers: 0, ...noDeliveries([]) };
  for (const report of reports) {
    const part = report[transport];
    total.subscribers += part.subscribers;
    addCounts(total, part, histogram);
  }
  return { ...total, latency: histogram.sparse(), histogram };
}
