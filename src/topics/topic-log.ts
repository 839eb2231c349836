import type { StoredMessage } from "./broker.js";
import { streamIdParts } from "./stream-id.js";

/**
 * The retained messages of one topic: a ring of at most `capacity` messages whose sequence
 * numbers are consecutive, so finding "everything after n" is arithmetic, not a search.
 * Its ids are `<epoch>-<sequence>`; every log gets an epoch of its own (see nextEpoch).
 */
export class TopicLog {
  private readonly ring: (StoredMessage | undefined)[] = [];
  /** Sequence number of the newest message; 0 before the first. */
  private last = 0;
  private readonly epoch = nextEpoch();

  constructor(private readonly capacity: number) {}

  /** Sequence number of the newest message (0 when none was ever appended). */
  get lastSequence(): number {
    return this.last;
  }

  /** Sequence number of the oldest message retained (last + 1 when empty). */
  get firstSequence(): number {
    return this.last - Math.min(this.last, this.capacity) + 1;
  }

  /** The id of this log's message `sequence` (0: the point before its first message). */
  idOf(sequence: number): string {
    return `${this.epoch}-${sequence}`;
  }

  /** The sequence number in one of this log's ids; undefined for any other string. */
  sequenceOf(id: string): number | undefined {
    const parts = streamIdParts(id);
    if (!parts || parts[0] !== this.epoch) return undefined;
    const sequence = Number(parts[1]);
    return Number.isSafeInteger(sequence) ? sequence : undefined;
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

let lastEpoch = 0;

/**
 * A log's epoch: the time it was made, in microseconds, and never the same twice in this
 * process. A topic dropped (idle, or evicted) and published to again gets a new log whose
 * ids cannot be taken for the old one's: a client resuming from an old id gets a reset, not
 * the new log's messages after a look-alike sequence number. A restarted process's epochs
 * are later still. Microseconds, so bursts of new topics do not run the epoch ahead of the
 * clock (one per microsecond would) and it stays well inside 2^53.
 */
function nextEpoch(): string {
  lastEpoch = Math.max(Date.now() * 1000, lastEpoch + 1);
  return String(lastEpoch);
}
