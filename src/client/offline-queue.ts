/**
 * The publishes and calls waiting for a connection, first in first out, bounded: a client
 * offline for long must not grow without limit, and its caller learns at once when it is full.
 */
export class OfflineQueue<T> {
  readonly limit: number;
  #items: T[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`offlineQueue must be a whole number ≥ 0, got ${limit}`);
    this.limit = limit;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Adds `item` unless the queue is full; false when it is. */
  offer(item: T): boolean {
    if (this.#items.length >= this.limit) return false;
    this.#items.push(item);
    return true;
  }

  remove(item: T): void {
    const index = this.#items.indexOf(item);
    if (index >= 0) this.#items.splice(index, 1);
  }

  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
