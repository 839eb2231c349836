// What the soak server (soak/server.ts, a child process) and its driver say to each other
// over the IPC channel.

/** Counts that must come back to what they were before the churn, and the memory figures. */
export interface ServerStats {
  /** process.memoryUsage(), in bytes, after full garbage collections when `gc` was asked. */
  rss: number;
  heapUsed: number;
  external: number;
  /** The highest RSS the server's sampler saw since it started. */
  peakRss: number;
  /** process.getActiveResourcesInfo() counted by type (TCPSocketWrap, Timeout, ...). */
  resources: Record<string, number>;
  /** The HTTP server's listener count for each event it has listeners for. */
  listeners: Record<string, number>;
  /** app.connections. */
  connections: { websocket: number; sse: number };
  /** app.topicSubscribers. */
  topicSubscribers: number;
  /** Stream producers (generators) started, and those whose `finally` ran. */
  producers: { started: number; finished: number };
  /** WebSocket handlers started, and those that returned. */
  websocketHandlers: { started: number; finished: number };
  /** server.getConnections(): TCP connections the HTTP server holds. */
  serverConnections: number;
  /** Log lines the app wrote at warn and at error level (or above). */
  logged: { warn: number; error: number };
  /** The last few warn/error lines, for the report. */
  recentLogLines: string[];
}

export type ParentMessage = { type: "stats"; id: number; gc: boolean } | { type: "exit" };

export type ChildMessage =
  | { type: "listening"; url: string }
  | { type: "stats"; id: number; stats: ServerStats };
