import { HubProblem } from "./hub-problem.js";

interface Bucket {
  tokens: number;
  /** performance.now() when `tokens` was last brought up to date. */
  at: number;
}

/** Buckets kept before full ones (the same as none) are swept away. */
const SWEEP_ABOVE = 10_000;

/**
 * The per-publisher rate limit: a token bucket per publisher id, `burst` tokens full,
 * refilled at `perSecond`. A request passes when its publisher has at least one token and
 * spends one per message it publishes (one per read), so a batch may leave the bucket in
 * debt: the publisher then waits until it refilled. Past the limit: 429 with `Retry-After`.
 */
export class PublishRate {
  readonly #buckets = new Map<string, Bucket>();
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {}

  /** Refuses with 429 unless `publisher` has a token left; spends nothing. */
  admit(publisher: string): void {
    if (this.perSecond === Number.POSITIVE_INFINITY) return;
    const bucket = this.#bucketOf(publisher);
    if (bucket.tokens >= 1) return;
    const seconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
    throw new HubProblem(
      429,
      `Too many publishes from this publisher: ${this.perSecond} messages a second after a burst of ${this.burst}; retry in ${seconds} s`,
      {},
      { "retry-after": String(seconds) },
    );
  }

  /** Takes `count` tokens (one per message) from `publisher`'s bucket, into debt if need be. */
  spend(publisher: string, count: number): void {
    if (this.perSecond === Number.POSITIVE_INFINITY) return;
    this.#bucketOf(publisher).tokens -= count;
  }

  #bucketOf(publisher: string): Bucket {
    const now = performance.now();
    let bucket = this.#buckets.get(publisher);
    if (bucket === undefined) {
      // At most once a second: many publishers in debt at once would make each sweep long.
      if (this.#buckets.size >= SWEEP_ABOVE && now - this.#sweptAt >= 1000) this.#sweep(now);
      bucket = { tokens: this.burst, at: now };
      this.#buckets.set(publisher, bucket);
    } else this.#refill(bucket, now);
    return bucket;
  }

  #refill(bucket: Bucket, now: number): void {
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond,
    );
    bucket.at = now;
  }

  /** Forgets the publishers whose bucket refilled: a new bucket is the same. */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [publisher, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.burst) this.#buckets.delete(publisher);
    }
  }
}
