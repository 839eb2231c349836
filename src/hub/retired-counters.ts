import type { AppMetrics } from "../app/app-metrics.js";

/**
 * What the workers that died had counted, kept by the primary so that the hub's counters
 * never go down when a worker is replaced (Prometheus would read a drop as a reset): each
 * dead worker's last sample is added in, its gauges (connections, subscribers, memory) left
 * out. What a worker counted after its last scrape is lost with it.
 */
export class RetiredCounters {
  #total: AppMetrics | undefined;

  /** Adds a dead worker's last sample. */
  retire(last: AppMetrics): void {
    const sum = (read: (sample: AppMetrics) => number) =>
      read(last) + (this.#total ? read(this.#total) : 0);
    this.#total = {
      connections: { websocket: 0, sse: 0 },
      topicSubscribers: 0,
      published: sum((sample) => sample.published),
      delivered: {
        websocket: sum((sample) => sample.delivered.websocket),
        sse: sum((sample) => sample.delivered.sse),
      },
      slowConsumerCutoffs: sum((sample) => sample.slowConsumerCutoffs),
      brokerReconnects: sum((sample) => sample.brokerReconnects),
      process: {
        residentMemoryBytes: 0,
        cpuSeconds: sum((sample) => sample.process.cpuSeconds),
        startTimeSeconds: Math.min(
          last.process.startTimeSeconds,
          this.#total?.process.startTimeSeconds ?? Number.POSITIVE_INFINITY,
        ),
      },
    };
  }

  /** The retired counts as one more sample, or none while no worker has died. */
  get samples(): AppMetrics[] {
    return this.#total ? [this.#total] : [];
  }
}
