/** One publish remembered: the id it was stored under, and until when it counts. */
interface Remembered {
  readonly id: string;
  readonly until: number;
}

/**
 * The dedupe keys a memory broker has seen within its window, in one Map in the order they
 * were first used: since every key lives for the same window, that is also the order they
 * expire in, so expiry and the cap only ever look at the front. Each lookup first drops the
 * expired keys at the front (each key is dropped once: O(1) per publish on average), and no
 * timer runs: keys of a broker nobody publishes to stay until the next publish, bounded by
 * `maxKeys`.
 */
export class DedupeMemory {
  private readonly seen = new Map<string, Remembered>();

  constructor(
    private readonly window: number,
    private readonly maxKeys: number,
  ) {}

  /** Keys remembered now (expired ones not yet swept included). */
  get size(): number {
    return this.seen.size;
  }

  /** The id the publish with this key on this topic got within the window, if one did. */
  idOf(topic: string, dedupeKey: string): string | undefined {
    this.sweep(performance.now());
    return this.seen.get(entryKey(topic, dedupeKey))?.id;
  }

  /** Remembers that the publish with this key on this topic was stored under `id`. */
  remember(topic: string, dedupeKey: string, id: string): void {
    const now = performance.now();
    this.sweep(now);
    const key = entryKey(topic, dedupeKey);
    // Deleted first so that it moves to the end: the Map stays in expiry order.
    this.seen.delete(key);
    this.seen.set(key, { id, until: now + this.window });
    // Past the cap, the oldest key goes before its window ends: a retry that late is stored
    // again. The cap bounds the memory a flood of publishes with keys can take.
    if (this.seen.size > this.maxKeys) {
      for (const oldest of this.seen.keys()) {
        this.seen.delete(oldest);
        break;
      }
    }
  }

  clear(): void {
    this.seen.clear();
  }

  private sweep(now: number): void {
    for (const [key, remembered] of this.seen) {
      if (remembered.until > now) return;
      this.seen.delete(key);
    }
  }
}

/** One string per (topic, key), never the same for two pairs: the topic's length leads. */
function entryKey(topic: string, dedupeKey: string): string {
  return `${topic.length}:${topic}:${dedupeKey}`;
}
