/** Events a client may have waiting before it counts as behind (its socket is full). */
const MAX_BACKLOG = 16;

interface Queue<T> {
  items: T[];
  /** Set while the client's generator waits for the next item; undefined wakes it to leave. */
  wake: ((item: T | undefined) => void) | undefined;
}

/**
 * Fan-out from one producer to every connected client, as application code would write it
 * without a topics feature: one queue per client, drained by the client's async generator.
 * Each item is handed over as it is, so an SseEvent is encoded once for all clients.
 */
export class Broadcaster<T extends object> {
  private readonly queues = new Set<Queue<T>>();
  /** Clients with more than MAX_BACKLOG items waiting. */
  private behind = 0;
  private caughtUp: { promise: Promise<void>; resolve: () => void } | undefined;

  get size(): number {
    return this.queues.size;
  }

  /** Every item published from now on, until `signal` aborts (the client left). */
  async *subscribe(signal: AbortSignal): AsyncGenerator<T> {
    const queue: Queue<T> = { items: [], wake: undefined };
    // The generator may be waiting for an item when the client leaves: wake it so its
    // `finally` runs now rather than at the next publish.
    const leave = () => this.wake(queue, undefined);
    signal.addEventListener("abort", leave, { once: true });
    this.queues.add(queue);
    try {
      while (!signal.aborted) {
        const item =
          queue.items.length > 0
            ? this.take(queue)
            : await new Promise<T | undefined>((resolve) => {
                queue.wake = resolve;
              });
        if (item === undefined) return;
        yield item;
      }
    } finally {
      signal.removeEventListener("abort", leave);
      this.queues.delete(queue);
      if (queue.items.length > MAX_BACKLOG) this.oneCaughtUp();
    }
  }

  /** Hands `item` to every client; returns a promise while some are behind. */
  publish(item: T): Promise<void> | undefined {
    for (const queue of this.queues) {
      if (queue.wake) this.wake(queue, item);
      else if (queue.items.push(item) === MAX_BACKLOG + 1) this.behind++;
    }
    if (this.behind === 0) return undefined;
    this.caughtUp ??= resolvable();
    return this.caughtUp.promise;
  }

  private wake(queue: Queue<T>, item: T | undefined): void {
    const wake = queue.wake;
    queue.wake = undefined;
    wake?.(item);
  }

  private take(queue: Queue<T>): T {
    const item = queue.items.shift() as T;
    if (queue.items.length === MAX_BACKLOG) this.oneCaughtUp();
    return item;
  }

  private oneCaughtUp(): void {
    if (--this.behind > 0 || !this.caughtUp) return;
    this.caughtUp.resolve();
    this.caughtUp = undefined;
  }
}

/** Promise.withResolvers() arrived in Node 22. */
function resolvable(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
