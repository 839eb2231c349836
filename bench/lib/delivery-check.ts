import { now, readStamp } from "./latency.js";
import type { LatencyHistogram } from "./latency-histogram.js";
import { readSeq } from "./ws-client.js";

/**
 * What one subscriber of bench/hub-fanout.ts received: every message (seq 0, 1, 2...) must
 * come exactly once. Order is not required: two publishes over HTTP in flight at once may be
 * stored in either order. A seq seen again is a duplicate; `finish()` counts as lost every seq
 * below the number published that never came. Each delivery's latency is recorded from the
 * publish time `t` its data carries.
 */
export class DeliveryCheck {
  /** Distinct messages received. */
  received = 0;
  duplicates = 0;
  /** A message whose data did not start `{"seq":<n>`. */
  malformed = 0;
  lost = 0;
  private seen = new Uint8Array(1024);

  constructor(private readonly latency: LatencyHistogram) {}

  /** A message whose published data (`{"seq":…,"t":…}`) starts at `start` in `bytes`, up to `end`. */
  deliver(bytes: Buffer, start: number, end: number, receivedAt = now()): void {
    const seq = readSeq(bytes, start);
    if (seq === -1) {
      this.malformed++;
      return;
    }
    if (seq >= this.seen.length) this.grow(seq);
    if (this.seen[seq] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    this.received++;
    if (this.latency.recording) this.latency.record(receivedAt - readStamp(bytes, start, end));
  }

  /** Whether every message below `published` came (messages above it count as received too). */
  hasAll(published: number): boolean {
    return this.received >= published;
  }

  /** After the publisher stopped at `published` messages: what never came is lost. */
  finish(published: number): void {
    this.lost = 0;
    for (let seq = 0; seq < published; seq++) if (this.seen[seq] !== 1) this.lost++;
  }

  private grow(seq: number): void {
    const grown = new Uint8Array(Math.max(seq + 1, this.seen.length * 2));
    grown.set(this.seen);
    this.seen = grown;
  }
}
