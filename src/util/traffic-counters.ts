/**
 * What an App counts as it serves, for `app.metrics()`: plain fields, one object per
 * App, handed once to every part that counts. Each count is one integer increment where the
 * thing happens (no allocation, no lookup per subscriber), so fan-out to thousands of sockets
 * pays nothing for it. Not exported from the package: users read `app.metrics()`.
 */
export class TrafficCounters {
  /** Messages published through the App (each once, however many subscribers). */
  published = 0;
  /** Topic messages handed to a WebSocket subscriber: one per subscriber per message. */
  deliveredWebSocket = 0;
  /** Topic messages handed to an SSE subscriber (app.subscribe(), real-time SSE). */
  deliveredSse = 0;
  /** Subscribers and connections cut off for falling behind (see AppMetrics). */
  slowConsumerCutoffs = 0;
}
