// Test files that run one at a time, after the rest, on a machine with nothing else to do:
// they assert on latency, memory or timing that other files running beside them would skew,
// or change what other files use.
// Everything not listed here runs concurrently (see test/run.ts).
export const SERIAL: readonly string[] = [
  "test/soak.test.ts", // minutes of load with latency and memory bounds
  "test/slow-dead-clients.test.ts", // p99 latency of healthy clients beside slow and dead ones
  "test/websocket-idle-memory.test.ts", // heap per idle socket
  "test/sse-idle-memory.test.ts", // heap per idle SSE stream
  "test/topic-churn.test.ts", // heap after topic churn
  "test/topic-churn-redis.test.ts", // Redis used_memory after churn, expiry timing
  "test/broken-log-pipe.test.ts", // a child's exit timing after its log reader goes
  "test/backpressure.test.ts", // RSS while 50 MB go to a slow reader
  "test/acceptance.test.ts", // RSS while 50 MB go to a slow reader; close timing
  "test/sigterm-drain.test.ts", // heavy streaming to 110 clients through SIGTERM
  "test/hostile-websocket.test.ts", // a dead peer dropped within two 300 ms heartbeats
  "test/http2-websocket.test.ts", // the same, within two 150 ms heartbeats, on four protocols
  "test/packed-tarball.test.ts", // may rebuild dist/, which other files import; npm and tsc runs
];
