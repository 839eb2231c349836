import type { Logger } from "pino";
import { readyForHead } from "../sse/head-after-ready.js";
import type { SseEvent } from "../sse/sse-event.js";
import type { TrafficCounters } from "../util/traffic-counters.js";
import type { Broker } from "./broker.js";
import { attachStarting, type SubscribeStart } from "./subscribe-at.js";
import type { TopicHub, TopicSink } from "./topic-hub.js";
import { RESET_EVENT, type TopicMessage } from "./topic-message.js";

/** What a subscription needs of the App's topics. */
export interface SubscriptionContext {
  readonly hub: TopicHub;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly counters: TrafficCounters;
}

/** An event of a topic subscription: an SseEvent whose data is the topic's (typed when declared). */
export type TopicEvent<T = unknown> = SseEvent & { readonly data: T };

/** Why a subscription resumed with a `reset`, and from which id the client asked. */
export interface TopicReset {
  /** "trimmed": the id is older than the retained history; "unknown": no such id. */
  readonly reason: "trimmed" | "unknown";
  /** The `lastEventId` the subscription was asked to resume after. */
  readonly lastEventId: string;
}

/**
 * The first event of a subscription whose `lastEventId` is gone: reload your state, live
 * messages follow (its id is the newest message's).
 */
export type TopicResetEvent = SseEvent & { readonly event: "reset"; readonly data: TopicReset };

/**
 * True for the `reset` event a subscription with a `lastEventId` may start with; narrows the
 * events of `app.subscribe(topic, { lastEventId })` to it, or (false) to the topic's data.
 * Publishes cannot use the event type "reset", so this tells the two apart exactly. (A check
 * of `event.event === "reset"` does not narrow: other events' type is any string.)
 *
 * ```ts
 * for await (const event of app.subscribe("chat:1", { lastEventId })) {
 *   if (isTopicReset(event)) reload(event.data.reason);
 *   else show(event.data.text);
 * }
 * ```
 */
export function isTopicReset(event: SseEvent): event is TopicResetEvent {
  return event.event === RESET_EVENT;
}

const DONE: IteratorResult<never> = { value: undefined, done: true };

/**
 * A topic's messages as SseEvents, for `app.sse()` handlers (or any `for await`): first what
 * the client missed since its last id, then live ones. Messages wait in a bounded queue while
 * the consumer is busy; a consumer that lets more than `maxQueued` pile up is cut off (the
 * iteration ends, `cutOff` is true): an SSE client then reconnects with its Last-Event-ID and
 * replays from the log, so memory stays bounded and a client that resumes loses nothing.
 */
export class TopicSubscription<
  T = unknown,
  Event extends SseEvent = TopicEvent<T> | TopicResetEvent,
> implements AsyncIterableIterator<Event>
{
  // Also a TopicSink (receive, receiveMissed), by members the published `.d.ts` leaves out:
  // so no `implements` for it, which that `.d.ts` could not satisfy.

  readonly topic: string;
  readonly #queue: (TopicMessage | undefined)[] = [];
  #head = 0;
  #waiting:
    | { resolve(step: IteratorResult<Event>): void; reject(error: unknown): void }
    | undefined;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #overflowed = false;
  /** Replayed messages still queued: they do not count against maxQueued. */
  #replayed = 0;
  #attached: TopicSink | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #context: SubscriptionContext;
  readonly #maxQueued: number;
  /**
   * Settles once the subscription is live (with `lastEventId` or `replay`: its replay fetched),
   * has failed, or has ended. An SSE route waits for it before sending its head: a client
   * that has its 200 misses nothing published after. A failure still reaches the stream (an
   * EventSource given a 200 then an error reconnects; given a 500 it would give up).
   */
  readonly #settled: Promise<void>;
  #settle: (() => void) | undefined;
  /** @internal whether it yields the topic's presence events (`joinLeave`). */
  readonly joinLeave: boolean;

  /** @internal an SSE route sends its head once this settles (see `#settled`). */
  [readyForHead](): Promise<void> {
    return this.#settled;
  }

  /** @internal app.subscribe() makes these. */
  constructor(
    context: SubscriptionContext,
    topic: string,
    start: SubscribeStart,
    maxQueued: number,
    signal: AbortSignal | undefined,
    joinLeave = false,
  ) {
    this.joinLeave = joinLeave;
    this.#context = context;
    this.#maxQueued = maxQueued;
    this.topic = topic;
    this.#signal = signal;
    if (signal?.aborted) {
      this.#ended = true;
      this.#settled = Promise.resolve();
      return;
    }
    // Ending settles it too: a client gone while the broker is slow to answer holds nothing.
    this.#settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    signal?.addEventListener("abort", this.end, { once: true });
    attachStarting(context.hub, context.broker, topic, start, this).then(
      (sink) => {
        this.#attached = sink;
        if (this.#ended) context.hub.detach(topic, sink);
        this.#settle?.();
      },
      (error: unknown) => {
        this.#fail(error);
        this.#settle?.();
      },
    );
  }

  /** True once the subscription ended because its consumer fell more than maxQueued behind. */
  get cutOff(): boolean {
    return this.#overflowed;
  }

  /** @internal a message for this subscriber. */
  receive(message: TopicMessage): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting) {
      let event: Event;
      try {
        event = message.sseEvent as Event;
      } catch (error) {
        this.#broke(error);
        return;
      }
      this.#waiting = undefined;
      this.#context.counters.deliveredSse++;
      waiting.resolve({ value: event, done: false });
      return;
    }
    if (this.#queue.length - this.#head >= this.#maxQueued + this.#replayed) {
      this.#cutOffSlowConsumer();
      return;
    }
    this.#queue.push(message);
  }

  /** @internal what the client missed: queued whatever their number (the log bounds it). */
  receiveMissed(messages: TopicMessage[]): void {
    if (this.#ended || messages.length === 0) return;
    let rest = messages;
    const waiting = this.#waiting;
    if (waiting) {
      let event: Event;
      try {
        event = (messages[0] as TopicMessage).sseEvent as Event;
      } catch (error) {
        this.#broke(error);
        return;
      }
      this.#waiting = undefined;
      this.#context.counters.deliveredSse++;
      waiting.resolve({ value: event, done: false });
      rest = messages.slice(1);
    }
    for (const message of rest) this.#queue.push(message);
    this.#replayed = rest.length;
  }

  next(): Promise<IteratorResult<Event>> {
    if (this.#head < this.#queue.length) {
      try {
        return Promise.resolve({ value: this.#take(), done: false });
      } catch (error) {
        this.#broke(error);
        return this.next();
      }
    }
    if (this.#failure) {
      const { error } = this.#failure;
      this.#failure = undefined;
      this.#ended = true;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Event>> {
    this.end();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops the subscription: the iteration ends after nothing more. */
  readonly end = (): void => {
    if (this.#ended) return;
    this.#ended = true;
    this.#settle?.();
    this.#queue.length = 0;
    this.#head = 0;
    this.#signal?.removeEventListener("abort", this.end);
    if (this.#attached) this.#context.hub.detach(this.topic, this.#attached);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(DONE);
  };

  #take(): Event {
    const message = this.#queue[this.#head] as TopicMessage;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
      this.#replayed = 0;
    }
    // Its data was validated when it was published: nothing to check per subscriber.
    const event = message.sseEvent as Event;
    this.#context.counters.deliveredSse++;
    return event;
  }

  #cutOffSlowConsumer(): void {
    this.#overflowed = true;
    this.#context.counters.slowConsumerCutoffs++;
    this.#context.logger.warn(
      { topic: this.topic, maxQueued: this.#maxQueued },
      "topic subscriber fell too far behind and was cut off; it resumes from its last event id",
    );
    this.end();
  }

  /**
   * A message could not become an SSE event (a broker delivered data that is not JSON): the
   * consumer gets the error (its stream ends and the failure is logged with its request id)
   * and the topic is let go of at once, rather than leave the consumer waiting forever.
   */
  #broke(error: unknown): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    this.end();
    if (waiting) waiting.reject(error);
    else this.#failure = { error };
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#signal?.removeEventListener("abort", this.end);
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      this.#ended = true;
      waiting.reject(error);
      return;
    }
    this.#failure = { error };
  }
}
