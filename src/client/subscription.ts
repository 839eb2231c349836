import type {
  MessageFrame,
  PresenceEventFrame,
  PresenceMemberFrame,
  ReplyFrame,
  ResetFrame,
  SubscribeFrame,
} from "../protocol/frames.js";
import { Emitter } from "./emitter.js";
import { RealtimeError, replyError } from "./realtime-error.js";

/** A message of a subscribed topic, as the server sent it. */
export interface RealtimeMessage<T = unknown> {
  topic: string;
  /** The topic's message id: opaque, compare only for equality; "" for a live-only message. */
  id: string;
  event: string;
  data: T;
}

/** A subscription's resume point was gone: what came after `since` up to `id` is lost. */
export interface ResetInfo {
  topic: string;
  /** The topic's newest id; the messages after it follow. */
  id: string;
  reason: "trimmed" | "unknown";
  since: string;
}

export interface SubscribeOptions {
  /** Resume after this id (e.g. one kept from an earlier visit). */
  since?: string;
  /** With no `since`: start with the latest N retained messages. */
  replay?: number;
  /**
   * Most messages the async iterator holds for a consumer slower than the topic. When full,
   * the subscription pauses and, once half is consumed, starts again after its cursor: the
   * server's log holds the stored messages that came meanwhile, none is lost; live-only ones
   * (at most once) that came meanwhile are. A pause unsubscribes, except with `presence` or
   * `joinLeave`: the subscription stays (no leave, and join/leave events go on) and the
   * server restarts it after the cursor. Default 1 000.
   */
  buffer?: number;
  /**
   * Join the topic's presence, offering this info (any JSON value; `true` to offer none).
   * The server decides what is published (its `presence` option; without one, `null`).
   * Joined again at every reconnect.
   */
  presence?: unknown;
  /** Receive `join` and `leave` events as members come and go. */
  joinLeave?: boolean;
}

/** A member of a topic's presence: a connection, the info it joined with, since when (ms). */
export type PresenceMember = PresenceMemberFrame;

export interface SubscriptionEvents {
  reset: ResetInfo;
  /** A member joined the topic's presence (with `joinLeave: true`). */
  join: PresenceMember;
  /** A member left the topic's presence (with `joinLeave: true`). */
  leave: PresenceMember;
  /** A refused or failed subscribe (a final refusal also rejects ready). */
  error: RealtimeError;
}

/** @internal The part of a subscription its connection uses, whatever its data type. */
export type SubscriptionCore = Pick<Subscription, "topic" | "frame" | "subscribed" | "wanted">;

/** @internal What a subscription asks of its connection. */
export interface SubscriptionHost {
  /** Sends the subscribe frame now if connected (else it goes at the next connect). */
  subscribe(subscription: SubscriptionCore): void;
  /** Sends an unsubscribe if connected; resolves on its reply or once the connection is gone. */
  unsubscribe(subscription: SubscriptionCore): Promise<void>;
  /** Sends the subscribe again after a backoff: the server failed it for now (`failures` in a row). */
  retry(subscription: SubscriptionCore, failures: number): void;
  /** Forgets the subscription: it will not be sent again. */
  remove(subscription: SubscriptionCore): void;
  /** Asks the topic's members. */
  presence(topic: string): Promise<PresenceMember[]>;
}

/** Refusals that a later attempt would only repeat. */
const FINAL_CODES = new Set(["forbidden", "not_found", "invalid"]);

/**
 * One topic followed by a client: delivers each message once, in order, keeps the cursor
 * (the last id delivered) that every re-subscribe resumes after, and is an async iterable.
 */
export class Subscription<T = unknown> implements AsyncIterable<RealtimeMessage<T>> {
  readonly topic: string;
  /**
   * Resolves when the server confirmed the subscription; rejects with a RealtimeError when it
   * refused for good (`forbidden`, `not_found`, `invalid`) or the client closed. A transient
   * failure (`unavailable`, `internal`, `timeout`) is an `error` event, and the subscribe is
   * sent again after a backoff.
   */
  readonly ready: Promise<void>;
  #host: SubscriptionHost;
  #cursor: string | null;
  #replay: number | undefined;
  #presence: unknown;
  #joinLeave: boolean | undefined;
  #onMessage: ((message: RealtimeMessage<T>) => void) | undefined;
  #events = new Emitter<SubscriptionEvents>();
  #settleReady: { resolve(): void; reject(error: RealtimeError): void } | undefined;
  /** Messages are taken only between the subscribe's ok reply and a disconnect or pause. */
  #accepting = false;
  #paused = false;
  /** Paused but still subscribed on the server (a subscription in presence). */
  #pausedSubscribed = false;
  /** Transient refusals (unavailable, internal, timeout) in a row, for the retry's backoff. */
  #failures = 0;
  #ended = false;
  #error: RealtimeError | undefined;
  #iterating: boolean;
  #buffer: RealtimeMessage<T>[] = [];
  #bufferLimit: number;
  /** Iterator next() calls waiting for a message, oldest first (a caller may overlap them). */
  #waiting: {
    resolve(result: IteratorResult<RealtimeMessage<T>>): void;
    reject(error: RealtimeError): void;
  }[] = [];

  /** @internal */
  constructor(
    host: SubscriptionHost,
    topic: string,
    options: SubscribeOptions,
    onMessage: ((message: RealtimeMessage<T>) => void) | undefined,
  ) {
    this.#host = host;
    this.topic = topic;
    this.#cursor = options.since ?? null;
    this.#replay = options.replay;
    this.#presence = options.presence;
    this.#joinLeave = options.joinLeave;
    this.#onMessage = onMessage;
    // Without a callback, iterating is the only way to read: buffer from the start.
    this.#iterating = onMessage === undefined;
    this.#bufferLimit = options.buffer ?? 1000;
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    // A refusal nobody awaits must not crash Node with an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** The id of the last stored message (or reset) delivered; resubscribes resume after it. */
  get cursor(): string | null {
    return this.#cursor;
  }

  get ended(): boolean {
    return this.#ended;
  }

  on<K extends keyof SubscriptionEvents>(
    name: K,
    listener: (value: SubscriptionEvents[K]) => void,
  ): () => void {
    return this.#events.on(name, listener);
  }

  /** Who is in the topic's presence now, on every server (the client must be allowed to subscribe). */
  presence(): Promise<PresenceMember[]> {
    return this.#host.presence(this.topic);
  }

  /** Stops the subscription; resolves once the server confirmed (or the connection is gone). */
  unsubscribe(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.end();
    this.#host.remove(this);
    return this.#host.unsubscribe(this);
  }

  /** @internal Whether the connection should (re)send the subscribe at connect. */
  get wanted(): boolean {
    return !this.#ended && !this.#paused;
  }

  /** @internal */
  frame(ref: number): SubscribeFrame {
    const frame: SubscribeFrame = { type: "subscribe", ref, topic: this.topic };
    if (this.#cursor !== null) frame.since = this.#cursor;
    else if (this.#replay !== undefined) frame.replay = this.#replay;
    if (this.#presence !== undefined) frame.presence = this.#presence;
    if (this.#joinLeave) frame.joinLeave = true;
    return frame;
  }

  /** @internal The subscribe's reply. */
  subscribed(reply: ReplyFrame): void {
    // Kept until now: join/leave events go on while the restart after a pause is under way.
    this.#pausedSubscribed = false;
    if (this.#ended) return;
    if (reply.ok) {
      const position = (reply.result as { position?: unknown } | null)?.position;
      if (typeof position === "string") this.#cursor = position;
      this.#failures = 0;
      this.#accepting = true;
      this.#settleReady?.resolve();
      this.#settleReady = undefined;
      return;
    }
    const error = replyError(reply.error);
    this.#events.emit("error", error);
    if (FINAL_CODES.has(error.code)) {
      this.end(error);
      this.#host.remove(this);
    } else this.#host.retry(this, ++this.#failures);
  }

  /** @internal The connection closed: nothing is taken until the next ok reply. */
  disconnected(): void {
    this.#accepting = false;
    this.#pausedSubscribed = false;
  }

  /** @internal */
  receive(frame: MessageFrame): void {
    // A message equal to the cursor was delivered already (defensive: the server never repeats).
    // A live-only one (id "") moves no cursor, so the cursor is never "": it is never a repeat.
    if (!this.#accepting || frame.id === this.#cursor) return;
    if (this.#iterating && this.#buffer.length >= this.#bufferLimit && !this.#waiting[0]) {
      // Not taken, so the cursor stays before it: the re-subscribe at resume brings it again.
      this.#pause();
      return;
    }
    if (frame.id !== "") this.#cursor = frame.id;
    const message: RealtimeMessage<T> = {
      topic: frame.topic,
      id: frame.id,
      event: frame.event,
      data: frame.data as T,
    };
    this.#onMessage?.(message);
    if (!this.#iterating) return;
    const waiting = this.#waiting.shift();
    if (waiting) waiting.resolve({ value: message, done: false });
    else this.#buffer.push(message);
  }

  /** The iterator's reader is a full buffer behind: take nothing until it caught up half. */
  #pause(): void {
    this.#accepting = false;
    this.#paused = true;
    // Unsubscribing would leave the presence (the room would see a leave, then a join): such
    // a subscription stays, and the subscribe at resume, with `since`, restarts it there.
    this.#pausedSubscribed =
      this.#cursor !== null && (this.#presence !== undefined || this.#joinLeave === true);
    if (!this.#pausedSubscribed) this.#host.unsubscribe(this);
  }

  /** @internal A `join` or `leave` frame. */
  member(frame: PresenceEventFrame): void {
    if (this.#accepting || this.#pausedSubscribed) this.#events.emit(frame.type, frame.member);
  }

  /** @internal */
  reset(frame: ResetFrame): void {
    if (!this.#accepting) return;
    this.#cursor = frame.id;
    const { topic, id, reason, since } = frame;
    this.#events.emit("reset", { topic, id, reason, since });
  }

  /** @internal Ends the subscription: iterators finish their buffer, then end (or throw `error`). */
  end(error?: RealtimeError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#accepting = false;
    this.#error = error;
    this.#settleReady?.reject(
      error ?? new RealtimeError("unavailable", `The subscription to "${this.topic}" ended`),
    );
    this.#settleReady = undefined;
    for (const waiting of this.#waiting.splice(0))
      if (error) waiting.reject(error);
      else waiting.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<RealtimeMessage<T>> {
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: async () => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<RealtimeMessage<T>>> {
    const message = this.#buffer.shift();
    if (this.#paused && this.#buffer.length <= this.#bufferLimit / 2 && !this.#ended) {
      this.#paused = false;
      this.#host.subscribe(this);
    }
    if (message) return Promise.resolve({ value: message, done: false });
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }
}
