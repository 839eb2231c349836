import type { Broker } from "../topics/broker.js";
import type { TrafficCounters } from "../util/traffic-counters.js";

/** Counts by transport: WebSocket and SSE. */
export interface TransportCounts {
  readonly websocket: number;
  readonly sse: number;
}

/** The process the App runs in, as Prometheus's client libraries report it. */
export interface ProcessMetrics {
  /** Resident set size, in bytes. */
  readonly residentMemoryBytes: number;
  /** User and system CPU time spent since the process started, in seconds. */
  readonly cpuSeconds: number;
  /** When the process started, in seconds since the Unix epoch. */
  readonly startTimeSeconds: number;
}

/**
 * What `app.metrics()` returns: a snapshot of plain numbers, JSON-serialisable (send it to
 * another process as it is). Counters only grow, from the App's creation; `connections` and
 * `topicSubscribers` are what is open now.
 */
export interface AppMetrics {
  /** WebSocket connections and SSE streams open now (`app.connections`). */
  readonly connections: TransportCounts;
  /**
   * Messages published through this App: `app.publish()`, real-time publish frames, the
   * hub's publish API (a batch of n counts n). Counted once the broker stored (or, live-only,
   * broadcast) it; a publish refused or failed counts nothing. A retry the dedupe window
   * swallowed counts again.
   */
  readonly published: number;
  /**
   * Topic messages handed to a subscriber in this process, one per subscriber per message
   * (replayed ones and presence join/leave events included), by transport: `websocket` for
   * `socket.subscribe()` and real-time WebSocket subscriptions, `sse` for `app.subscribe()`
   * (what SSE routes stream) and real-time SSE streams.
   */
  readonly delivered: TransportCounts;
  /**
   * Subscribers and connections cut off for falling behind: an `app.subscribe()` past its
   * `maxQueued`, a real-time SSE stream past its queue, a WebSocket closed with 1013 past
   * `maxBuffered` (plain or real-time), a stream whose client took nothing for `sendTimeout`.
   */
  readonly slowConsumerCutoffs: number;
  /** Times the broker's connection came back after being lost (Redis; the memory broker: 0). */
  readonly brokerReconnects: number;
  /** Local topic subscribers now (`app.topicSubscribers`). */
  readonly topicSubscribers: number;
  /** The process's memory, CPU time and start time. */
  readonly process: ProcessMetrics;
}

/** What the App hands over to read its metrics. */
export interface MetricsSources {
  readonly counters: TrafficCounters;
  readonly broker: Broker;
  connections(): TransportCounts;
  topicSubscribers(): number;
}

/** A snapshot of the App's metrics now. */
export function appMetrics(sources: MetricsSources): AppMetrics {
  const { counters } = sources;
  return {
    connections: sources.connections(),
    published: counters.published,
    delivered: { websocket: counters.deliveredWebSocket, sse: counters.deliveredSse },
    slowConsumerCutoffs: counters.slowConsumerCutoffs,
    brokerReconnects: sources.broker.reconnects ?? 0,
    topicSubscribers: sources.topicSubscribers(),
    process: processMetrics(),
  };
}

function processMetrics(): ProcessMetrics {
  const cpu = process.cpuUsage();
  return {
    residentMemoryBytes: process.memoryUsage.rss(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    startTimeSeconds: Math.round(Date.now() / 1000 - process.uptime()),
  };
}
