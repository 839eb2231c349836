import { fileURLToPath } from "node:url";
import { addCounts, type DeliveryCounts, noDeliveries } from "./delivery-counts.js";
import type { StreamTarget } from "./h2-fanout-streams.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { SubscriberProcesses } from "./subscriber-processes.js";

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

export interface StreamsReport extends DeliveryCounts {
  streams: number;
}

export type PoolAnswer =
  | { type: "connected"; streams: number }
  | { type: "received"; received: number }
  | { type: "finished"; report: StreamsReport }
  | { type: "failed"; message: string };

const ENTRY = fileURLToPath(new URL("../h2-fanout-subscribers.ts", import.meta.url));

/** The processes, started once for the whole run; each case spreads its connections over them. */
export class H2SubscriberPool {
  private constructor(private readonly processes: SubscriberProcesses<PoolCommand, PoolAnswer>) {}

  /** Enough processes for `connections` at most at once. */
  static async start(connections: number): Promise<H2SubscriberPool> {
    return new H2SubscriberPool(await SubscriberProcesses.start(ENTRY, connections));
  }

  /** CPU time the subscriber processes have used, in µs. */
  cpuMicros(): number {
    return this.processes.cpuMicros();
  }

  /** Opens `connections` connections to `target`, spread over the processes; resolves the streams open. */
  async connect(target: StreamTarget, carrier: Carrier, connections: number): Promise<number> {
    const answers = await this.processes.askEach((share) => ({
      type: "connect",
      target,
      carrier,
      connections: share(connections),
    }));
    return answers.reduce((sum, answer) => sum + (answer as { streams: number }).streams, 0);
  }

  windowStart(): Promise<number> {
    return this.processes.received({ type: "window-start" });
  }

  windowEnd(): Promise<number> {
    return this.processes.received({ type: "window-end" });
  }

  /** Waits (bounded) for every stream to have `published` events; reports, then disconnects. */
  async finish(
    published: number,
    timeoutMs: number,
  ): Promise<StreamsReport & { histogram: LatencyHistogram }> {
    const answers = await this.processes.askAll({ type: "finish", published, timeoutMs });
    const histogram = new LatencyHistogram();
    const total: StreamsReport = { streams: 0, ...noDeliveries([]) };
    for (const answer of answers) {
      const part = (answer as { report: StreamsReport }).report;
      total.streams += part.streams;
      addCounts(total, part, histogram);
    }
    return { ...total, histogram };
  }

  stop(): void {
    this.processes.stop();
  }
}
