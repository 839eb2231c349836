/** Latencies are counted in buckets of this many ms (as LatencyRecorder's, bench/lib/latency.ts)... */
const BUCKET_MS = 0.01;
/** ...up to this many ms; anything later lands in the last bucket. */
const MAX_MS = 10_000;

/** A histogram's non-empty buckets as [bucket, count] pairs: what a process sends another. */
export type SparseBuckets = [number, number][];

/**
 * Delivery latencies in 10 µs buckets, like LatencyRecorder, but mergeable: the subscriber
 * processes of bench/hub-fanout.ts each keep one and the parent adds them up, so p50 and p99
 * are over every delivery of every process (percentiles of percentiles would not be).
 */
export class LatencyHistogram {
  recording = false;
  private readonly buckets = new Uint32Array(Math.ceil(MAX_MS / BUCKET_MS) + 1);
  private total = 0;

  get count(): number {
    return this.total;
  }

  record(latencyMs: number): void {
    if (!this.recording || !(latencyMs >= 0)) return;
    this.add(Math.min(this.buckets.length - 1, Math.floor(latencyMs / BUCKET_MS)), 1);
  }

  sparse(): SparseBuckets {
    const pairs: SparseBuckets = [];
    for (const [bucket, count] of this.buckets.entries())
      if (count > 0) pairs.push([bucket, count]);
    return pairs;
  }

  merge(pairs: SparseBuckets): void {
    for (const [bucket, count] of pairs) this.add(bucket, count);
  }

  /** The latency below which `fraction` (0..1) of the recorded ones fall, in ms; NaN if none. */
  percentile(fraction: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (const [bucket, count] of this.buckets.entries()) {
      seen += count;
      if (seen >= rank) return (bucket + 1) * BUCKET_MS;
    }
    return MAX_MS;
  }

  private add(bucket: number, count: number): void {
    this.buckets[bucket] += count;
    this.total += count;
  }
}
