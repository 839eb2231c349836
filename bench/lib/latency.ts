import { stamp } from "../servers/stamp.js";

const STAMP_KEY = Buffer.from('"t":');
/** How far into a message its `"t":` may start (after `{"seq":<digits>,`; later in an SSE event or a socket.io packet). */
const STAMP_SEARCH_BYTES = 96;
/** Latencies are counted in buckets of this many ms... */
const BUCKET_MS = 0.01;
/** ...up to this many ms; anything later lands in the last bucket. */
const MAX_MS = 10_000;

/** Now, on the clock the servers stamp their messages with (bench/servers/stamp.ts). */
export const now = stamp;

/**
 * The publish time `t` of a message whose bytes between `start` and `end` hold `"t":<ms>`
 * near their beginning, read without decoding the message; NaN when there is none.
 */
export function readStamp(bytes: Buffer, start = 0, end = bytes.length): number {
  const key = bytes.indexOf(STAMP_KEY, start);
  if (key === -1 || key > start + STAMP_SEARCH_BYTES || key >= end) return Number.NaN;
  let at = key + STAMP_KEY.length;
  let whole = 0;
  for (; at < end; at++) {
    const digit = bytes[at] - 0x30;
    if (digit < 0 || digit > 9) break;
    whole = whole * 10 + digit;
  }
  if (bytes[at] !== 0x2e) return whole; // no "."
  let fraction = 0;
  let scale = 1;
  for (at++; at < end; at++) {
    const digit = bytes[at] - 0x30;
    if (digit < 0 || digit > 9) break;
    fraction = fraction * 10 + digit;
    scale *= 10;
  }
  return whole + fraction / scale;
}

/**
 * Delivery latencies in 10 µs buckets, so millions of them cost one array increment each and
 * percentiles come out exact to the bucket. Records only while `recording`.
 */
export class LatencyRecorder {
  recording = false;
  private readonly buckets = new Uint32Array(Math.ceil(MAX_MS / BUCKET_MS) + 1);
  private count = 0;

  record(latencyMs: number): void {
    if (!this.recording || !(latencyMs >= 0)) return;
    const bucket = Math.min(this.buckets.length - 1, Math.floor(latencyMs / BUCKET_MS));
    this.buckets[bucket]++;
    this.count++;
  }

  /** The latency below which `fraction` (0..1) of the recorded ones fall, in ms; NaN if none. */
  percentile(fraction: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(fraction * this.count);
    let seen = 0;
    for (let bucket = 0; bucket < this.buckets.length; bucket++) {
      seen += this.buckets[bucket];
      if (seen >= rank) return (bucket + 1) * BUCKET_MS;
    }
    return MAX_MS;
  }

  /** p50 and p99 in ms, as sample metrics. */
  summary(): { "p50 latency ms": number; "p99 latency ms": number } {
    return { "p50 latency ms": this.percentile(0.5), "p99 latency ms": this.percentile(0.99) };
  }
}
