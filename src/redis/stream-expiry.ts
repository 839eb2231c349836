import type { CommandConnection } from "./redis-connections.js";

/** The longest between two refreshes of subscribed topics' TTLs. */
const MAX_REFRESH_INTERVAL_MS = 60 * 60_000;

/** Keys per PEXPIRE pipeline when refreshing, so no refresh makes one huge write. */
const REFRESH_BATCH = 1000;

function noop(): void {}

/**
 * The TTL of the topics' streams. Streams expire `topicTtl` after their last publish (the
 * publish script sets it), but not while this process subscribes to them: every third of the
 * TTL (an hour at most) each subscribed topic's TTL is set again, so two refreshes may fail
 * (Redis away) before a stream expires under its subscribers. One timer for all topics, only
 * while there are some.
 */
export class StreamExpiry {
  /** The PEXPIRE of every publish, as the script takes it ("0": none). */
  readonly ttlArgument: string;
  private refresher: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly commands: CommandConnection,
    private readonly topicTtl: number,
    /** The keys of the topics subscribed to now (none: the refreshing stops). */
    private readonly subscribedKeys: () => string[],
  ) {
    this.ttlArgument = Number.isFinite(topicTtl) ? String(topicTtl) : "0";
  }

  /** Starts refreshing, if it is not already and topics expire at all. */
  start(): void {
    if (this.refresher !== undefined || this.ttlArgument === "0" || this.stopped) return;
    const interval = Math.min(Math.ceil(this.topicTtl / 3), MAX_REFRESH_INTERVAL_MS);
    this.refresher = setInterval(() => {
      const keys = this.subscribedKeys();
      if (keys.length === 0) {
        clearInterval(this.refresher);
        this.refresher = undefined;
        return;
      }
      this.expireLater(keys);
    }, interval);
    this.refresher.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.refresher);
  }

  /**
   * PEXPIRE on each key, in pipelines, not awaited: a failure (Redis away) leaves the TTL as it
   * was, and the next refresh or publish sets it. PEXPIRE makes no key that is not there.
   */
  expireLater(keys: string[]): void {
    if (this.ttlArgument === "0" || this.commands.status !== "ready") return;
    for (let start = 0; start < keys.length; start += REFRESH_BATCH) {
      const pipeline = this.commands.pipeline();
      for (const key of keys.slice(start, start + REFRESH_BATCH)) {
        pipeline.pexpire(key, this.ttlArgument);
      }
      pipeline.exec().catch(noop);
    }
  }
}
