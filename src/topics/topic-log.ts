import type { StoredMessage } from "./broker.js";

/**
 * The retained messages of one topic: a ring of at most `capacity` messages whose sequence
 * numbers are consecutive, so finding "everything after n" is arithmetic, not a search.
 */
export class TopicLog {
  private readonly ring: (StoredMessage | undefined)[] = [];
  /** Sequence number of the newest message; 0 before the first. */
  private last = 0;

  constructor(private readonly capacity: number) {}

  /** Sequence number of the newest message (0 when none was ever appended). */
  get lastSequence(): number {
    return this.last;
  }

  /** Sequence number of the oldest message retained (last + 1 when empty). */
  get firstSequence(): number {
    return this.last - Math.min(this.last, this.capacity) + 1;
  }

  /** Appends the message that gets the next sequence number. */
  append(message: StoredMessage): void {
    this.last++;
    this.ring[this.last % this.capacity] = message;
  }

  /** Up to `limit` retained messages after sequence `sequence`, oldest first. */
  after(sequence: number, limit: number): StoredMessage[] {
    const from = Math.max(sequence + 1, this.firstSequence);
    return this.range(from, Math.min(this.last, from + limit - 1));
  }

  /** The newest `limit` messages, oldest first. */
  newest(limit: number): StoredMessage[] {
    return this.range(Math.max(this.firstSequence, this.last - limit + 1), this.last);
  }

  private range(from: number, to: number): StoredMessage[] {
    const messages: StoredMessage[] = [];
    for (let sequence = from; sequence <= to; sequence++) {
      messages.push(this.ring[sequence % this.capacity] as StoredMessage);
    }
    return messages;
  }
}
