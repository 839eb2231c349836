import type { ReplyFrame } from "../protocol/frames.js";

/** What waits for a reply: told the reply, or that the connection it was sent on is gone. */
export interface Awaiting {
  reply(frame: ReplyFrame): void;
  lost(): void;
}

/**
 * The requests sent on the current connection whose reply has not come, by `ref`. Refs count
 * up for the client's whole life, so a late reply from an earlier connection finds nothing.
 */
export class PendingReplies {
  #next = 1;
  #byRef = new Map<number, Awaiting>();

  add(awaiting: Awaiting): number {
    const ref = this.#next++;
    this.#byRef.set(ref, awaiting);
    return ref;
  }

  /** Requests awaiting their reply (a request the client stopped waiting for included). */
  get size(): number {
    return this.#byRef.size;
  }

  /** Hands a reply to its request; false when no request has its ref. */
  settle(frame: ReplyFrame): boolean {
    if (typeof frame.ref !== "number") return false;
    const awaiting = this.#byRef.get(frame.ref);
    if (!awaiting) return false;
    this.#byRef.delete(frame.ref);
    awaiting.reply(frame);
    return true;
  }

  /** The connection closed: every request still waiting is told, in the order it was sent. */
  loseAll(): void {
    const waiting = [...this.#byRef.values()];
    this.#byRef.clear();
    for (const awaiting of waiting) awaiting.lost();
  }
}
