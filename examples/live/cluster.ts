// What the processes serving the demo tell each other. With the memory broker there is one;
// with Redis (REDIS_URL) every `npm start` publishes a report of its own to the "cluster"
// topic each tick, so that:
//  - the dashboard adds up every process's clients, events/s and memory;
//  - one process, the leader (the smallest server id heard from lately), publishes the ticks,
//    so their sequence numbers go up by one whoever publishes them.
// (Who is in a room needs no report: the broker keeps each room's presence.)

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { App, PublishOptions } from "sluice";

export const CLUSTER_TOPIC = "cluster";

export interface ServerReport {
  server: string;
  clients: number;
  eventsPerSec: number;
  rssMb: number;
}

interface Heard {
  report: ServerReport;
  /** When it arrived, on this process's clock (clocks of other machines may differ). */
  at: number;
}

export class Cluster {
  readonly server = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly peers = new Map<string, Heard>();
  private readonly staleMs: number;
  private published = 0;
  private countedSince = performance.now();
  private eventRate = 0;
  private readonly abort = new AbortController();

  constructor(
    private readonly app: App,
    tickMs: number,
  ) {
    // A server not heard from in this long is gone.
    this.staleMs = Math.max(3 * tickMs, 3000);
  }

  /** app.publish, counted for the dashboard's events/s. */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<string> {
    this.count();
    return this.app.publish(topic, data, options);
  }

  /** Counts a message published some other way (by a client, through the real-time endpoint). */
  count(): void {
    this.published++;
  }

  /**
   * Publishes this server's report (with `measure`, its events/s since the last measure;
   * without, the last figure) and returns it.
   */
  async report(measure = false): Promise<ServerReport> {
    if (measure) {
      const now = performance.now();
      const rate = (this.published * 1000) / Math.max(1, now - this.countedSince);
      this.eventRate = Math.round(rate * 10) / 10;
      this.published = 0;
      this.countedSince = now;
    }
    const connections = this.app.connections;
    const report: ServerReport = {
      server: this.server,
      clients: connections.sse + connections.websocket,
      eventsPerSec: this.eventRate,
      rssMb: Math.round((process.memoryUsage.rss() / 2 ** 20) * 10) / 10,
    };
    await this.app.publish(CLUSTER_TOPIC, report);
    return report;
  }

  /** The other servers heard from lately. */
  livePeers(): ServerReport[] {
    const now = Date.now();
    const live: ServerReport[] = [];
    for (const [server, heard] of this.peers) {
      if (now - heard.at > this.staleMs) this.peers.delete(server);
      else live.push(heard.report);
    }
    return live;
  }

  isLeader(): boolean {
    return this.livePeers().every((peer) => this.server < peer.server);
  }

  /**
   * Follows the other servers' reports until stop(), or until the app closes (which ends
   * every subscription): then `onEnd` runs, so the metrics timer stops with the app.
   */
  async follow(onEnd: () => void): Promise<void> {
    try {
      for await (const event of this.app.subscribe(CLUSTER_TOPIC, { signal: this.abort.signal })) {
        const report = asServerReport(event.data);
        if (report && report.server !== this.server)
          this.peers.set(report.server, { report, at: Date.now() });
      }
    } catch (error) {
      // The broker failed: this process goes on alone (its own ticks).
      this.app.logger.error({ err: error }, "stopped following the cluster topic");
      return;
    }
    onEnd();
  }

  stop(): void {
    this.abort.abort();
  }
}

/**
 * A report as another process published it, checked field by field: anything may reach the
 * topic (an older version, another app on the same Redis). Only the known fields are kept.
 */
export function asServerReport(data: unknown): ServerReport | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const { server, clients, eventsPerSec, rssMb } = data as Record<string, unknown>;
  if (typeof server !== "string") return undefined;
  if (![clients, eventsPerSec, rssMb].every((n) => typeof n === "number" && Number.isFinite(n))) {
    return undefined;
  }
  return {
    server,
    clients: clients as number,
    eventsPerSec: eventsPerSec as number,
    rssMb: rssMb as number,
  };
}
