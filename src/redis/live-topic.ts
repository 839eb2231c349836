import type { Deliver, StoredMessage } from "../topics/broker.js";
import { isLiveOnlyMessage } from "../topics/live-only.js";
import { compareStreamIds } from "../topics/stream-id.js";

/** One subscribe() call: its own object, so the same function subscribed twice stops apart. */
export interface Deliverer {
  readonly deliver: Deliver;
}

/**
 * One subscribed topic of a process: its deliverers, the last id delivered to them, and the
 * live messages held back while the topic catches up from its log (after subscribing, or
 * after the subscriber connection came back). Each id is delivered once, in order: whatever
 * is not after the last delivered id is dropped, so the log and the live messages may overlap.
 *
 * A live-only message (id "", in no log) moves no id and is never dropped as a repeat: live,
 * it is delivered as it comes; while catching up, it is held and delivered in arrival order
 * with the held stored ones. One published while the subscriber connection was down is lost
 * (no log has it): live-only delivery is at most once.
 */
export class LiveTopic {
  readonly deliverers = new Set<Deliverer>();
  /** The last id delivered, or the point delivery started from; undefined until established. */
  lastId: string | undefined;
  /** Live messages received while catching up; undefined when live. */
  private held: StoredMessage[] | undefined = [];
  /** Settles when the first subscription is live (or could not be made). */
  ready: Promise<void> = Promise.resolve();
  /** Live once: only then is it resubscribed and caught up after a reconnection. */
  established = false;
  /** The subscriber connection (by its epoch) on which the SUBSCRIBE was acknowledged. */
  subscribedEpoch = -1;
  /** A catch-up read is under way (while it is, held messages are all kept). */
  reading = false;
  /** Another catch-up was asked for while one was under way. */
  again = false;
  /** reached() calls waiting for an id to be delivered. */
  private waiters: { readonly id: string; readonly resolve: () => void }[] = [];

  constructor(
    readonly topic: string,
    /** The stream key, also the pub/sub channel. */
    readonly key: string,
    private readonly holdLimit: number,
    private readonly onThrow: (error: unknown, message: StoredMessage) => void,
  ) {}

  get live(): boolean {
    return this.held === undefined;
  }

  /** Holds live messages back until goLive(): the topic must catch up first. */
  hold(): void {
    this.held ??= [];
  }

  /** A live message from pub/sub. */
  receive(message: StoredMessage): void {
    const held = this.held;
    if (held === undefined) {
      this.deliver(message);
      return;
    }
    // Bounded while no read is under way: what is dropped is older than any read to come,
    // which gets it from the log (or reports that it was trimmed). A live-only message is in
    // no log: it is delivered then rather than dropped (early, but not lost).
    if (held.length >= this.holdLimit && !this.reading) {
      const oldest = held.shift() as StoredMessage;
      if (isLiveOnlyMessage(oldest)) this.deliver(oldest);
    }
    held.push(message);
  }

  /**
   * Delivers `missed` (from the log), then the held live messages, and goes live. With
   * `restartAt`, the log did not know lastId (a Redis that lost its data): the held messages,
   * all published since the subscription, are delivered whatever their ids, and delivery goes
   * on after them, or after `restartAt` when there are none.
   */
  goLive(missed: readonly StoredMessage[], restartAt?: string): void {
    if (restartAt !== undefined) this.lastId = undefined;
    for (const message of missed) this.deliver(message);
    const held = this.held;
    this.held = undefined;
    if (held) for (const message of held) this.deliver(message);
    if (this.lastId === undefined) this.lastId = restartAt;
  }

  /**
   * Resolves once delivery has reached `id` (undefined when it has): a replay read from the
   * log waits for it, so that nothing it returns comes live after it.
   */
  reached(id: string): Promise<void> | undefined {
    if (this.lastId !== undefined && compareStreamIds(this.lastId, id) >= 0) return undefined;
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  /** Lets every reached() waiter go (the subscription ends). */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private deliver(message: StoredMessage): void {
    if (isLiveOnlyMessage(message)) {
      this.fanOut(message);
      return;
    }
    if (this.lastId !== undefined && compareStreamIds(message.id, this.lastId) <= 0) return;
    this.lastId = message.id;
    if (this.waiters.length > 0) {
      const id = message.id;
      this.waiters = this.waiters.filter((waiter) => {
        if (compareStreamIds(waiter.id, id) > 0) return true;
        waiter.resolve();
        return false;
      });
    }
    this.fanOut(message);
  }

  private fanOut(message: StoredMessage): void {
    for (const deliverer of this.deliverers) {
      try {
        deliverer.deliver(message);
      } catch (error) {
        this.onThrow(error, message);
      }
    }
  }
}
