export type InboxMessage = string | Buffer;

interface Waiter {
  // biome-ignore lint/suspicious/noExplicitAny: resolves take()'s or next()'s promise, by asResult
  resolve(value: any): void;
  asResult: boolean;
}

const DONE: IteratorResult<InboxMessage> = { done: true, value: undefined };

/** How the inbox throttles the peer: pause reading its socket, resume it. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** Queued bytes past which the peer's socket is no longer read (TCP pushes back on it). */
const HIGH_WATER_BYTES = 1024 * 1024;

/** Who decides what happens to a peer left paused too long. */
export interface StallGuard {
  /** How long the peer may stay paused because nobody reads, in ms. */
  readonly unreadTimeout: number;
  /** Called when it has been: a paused socket reads no pong and no close frame either. */
  closeUnread(): void;
}

/** The stall timer's callback, one for every inbox: the guard comes as its argument. */
function stalled(guard: StallGuard): void {
  guard.closeUnread();
}

/**
 * Messages received and not yet taken by the handler, in order. A handler that reads slower
 * than its peer writes does not make memory grow: past the high-water mark the socket is
 * paused, and resumed once the handler has caught up. After the end, queued messages are
 * still handed out: nothing received is lost.
 */
export class Inbox {
  private readonly queue: InboxMessage[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Readers waiting for a message: `take()` callers get it, iterators an IteratorResult. */
  private readonly waiters: Waiter[] = [];
  private ended = false;
  private paused = false;
  private stallTimer: NodeJS.Timeout | undefined;

  /** Without flow control (a test client), everything received is queued. */
  constructor(
    private readonly flow?: FlowControl,
    private readonly stall?: StallGuard,
  ) {}

  /** True while the peer's socket is paused because the handler is behind. */
  get isThrottling(): boolean {
    return this.paused;
  }

  deliver(message: InboxMessage): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(waiter.asResult ? { done: false, value: message } : message);
      return;
    }
    this.queue.push(message);
    this.queuedBytes += message.length;
    if (this.flow && !this.paused && this.queuedBytes >= HIGH_WATER_BYTES) this.pause();
  }

  /** The next message, or undefined once the socket closed and the queue is empty. */
  take(): Promise<InboxMessage | undefined> {
    if (this.head < this.queue.length) return Promise.resolve(this.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push({ resolve, asResult: false }));
  }

  /** take() as an iterator's next(): one promise per message, not two. */
  next(): Promise<IteratorResult<InboxMessage>> {
    if (this.head < this.queue.length) return Promise.resolve({ done: false, value: this.shift() });
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => this.waiters.push({ resolve, asResult: true }));
  }

  /**
   * No more messages will come; waiting readers get undefined, queued messages are still
   * handed out. A paused peer is read again, so its close frame is seen.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.resolve(waiter.asResult ? DONE : undefined);
    }
    if (this.paused) this.resume();
  }

  /** Ends the inbox and drops what is queued: nothing received after a refusal is read. */
  discard(): void {
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    this.end();
  }

  private shift(): InboxMessage {
    const message = this.queue[this.head];
    this.queue[this.head++] = "";
    this.queuedBytes -= message.length;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      if (this.paused && !this.ended) this.resume();
    }
    return message;
  }

  private pause(): void {
    this.paused = true;
    this.flow?.pause();
    if (this.stall) {
      this.stallTimer = setTimeout(stalled, this.stall.unreadTimeout, this.stall);
      this.stallTimer.unref();
    }
  }

  private resume(): void {
    this.paused = false;
    clearTimeout(this.stallTimer);
    this.flow?.resume();
  }
}

/**
 * A for-await loop over an inbox. Leaving the loop early does not end the inbox: whoever owns
 * it decides (a socket closes when its handler returns).
 */
export class InboxIterator implements AsyncIterator<InboxMessage> {
  constructor(private readonly inbox: Inbox) {}

  next(): Promise<IteratorResult<InboxMessage>> {
    return this.inbox.next();
  }

  return(): Promise<IteratorResult<InboxMessage>> {
    return Promise.resolve(DONE);
  }
}
