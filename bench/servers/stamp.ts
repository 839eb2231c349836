/**
 * The publish time every server under test puts in its messages (`"t":` right after `"seq":`),
 * read back by the load generator for delivery latency: ms since the epoch with µs precision,
 * from the monotonic clock, so two processes on one machine agree to well under a ms.
 */
export function stamp(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}
