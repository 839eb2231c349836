import {
  type CallFrame,
  type ErrorCode,
  PROTOCOL,
  type PresenceFrame,
  type PresenceResult,
  type PublishFrame,
  type PublishResult,
  type RefreshResult,
  type ReplyFrame,
  type ServerFrame,
  type WelcomeFrame,
} from "../protocol/frames.js";
import {
  DEFAULT_RECONNECT,
  fullJitterDelay,
  MAX_TIMER,
  type ReconnectOptions,
  reconnectOptions,
} from "./backoff.js";
import { Emitter } from "./emitter.js";
import { FramePacer } from "./frame-pacer.js";
import { messageId } from "./message-id.js";
import { OfflineQueue } from "./offline-queue.js";
import { type Awaiting, PendingReplies } from "./pending-replies.js";
import { RealtimeError, replyError } from "./realtime-error.js";
import {
  type RealtimeMessage,
  type SubscribeOptions,
  Subscription,
  type SubscriptionCore,
  type SubscriptionHost,
} from "./subscription.js";
import { OPEN, type WebSocketClass, type WebSocketLike } from "./websocket-like.js";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** A connection closed: its code and reason, and whether the client comes back. */
export interface CloseInfo {
  code: number;
  reason: string;
  reconnecting: boolean;
}

export interface RealtimeEvents {
  state: ConnectionState;
  /** Every close of the underlying WebSocket; `reconnecting: false` is the last one. */
  close: CloseInfo;
  /** Trouble that does not close the connection: a failing token function, a bad frame. */
  error: Error;
}

export interface ConnectOptions {
  /**
   * Called at every (re)connect; its token is offered as `["sluice.v1", "bearer", token]`.
   * Also before the connection's credentials expire (the welcome's `expiresIn`): at 80% of
   * their lifetime or 30 s before the end, whichever is later, its token is sent in a
   * `refresh` frame. A refresh refused (or a token function that fails) is tried again at
   * half the time left, while a second or more is; then the server's 4001 close makes the
   * client reconnect, with a fresh token.
   */
  token?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Backoff between reconnects, or `false` to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** The WebSocket class: needed on Node 20 (`import { WebSocket } from "ws"`). */
  WebSocket?: WebSocketClass;
  /** Most publishes and calls waiting while offline; more reject with `unavailable`. Default 100. */
  offlineQueue?: number;
  /**
   * Default `timeout` of `call()`, in ms. Default 35 000: longer than the server's own 30 s
   * call timeout, so that a slow method gets the server's `timeout` reply rather than the
   * client giving up on a call that may still succeed.
   */
  callTimeout?: number;
  /**
   * How long (ms) after it was first sent a publish whose reply was lost may be sent again:
   * the server stores a repeated `mid` once only within its dedupe window. Later, it rejects
   * with `unavailable` (it may have been stored). Must not exceed the server's broker's
   * `dedupeWindow`. Default 120 000, the brokers' default.
   */
  dedupeWindow?: number;
  /**
   * Ms a connection attempt has to get the server's welcome; then it is abandoned and retried
   * (a connection a proxy or a dying server process accepted but never answers). Default
   * 10 000.
   */
  connectTimeout?: number;
}

export interface PublishOptions {
  /** The event type (one line, not "reset"); `"message"` when absent. */
  event?: string;
  /**
   * `false`: a live-only message (typing notices, cursor moves): delivered to the topic's
   * current subscribers, never stored or replayed; publish() resolves "" (its id everywhere).
   */
  store?: boolean;
  /** `false`: this connection does not receive its own message. */
  echo?: boolean;
}

export interface CallOptions {
  /**
   * Ms to wait for the reply, offline time included; then it rejects with `timeout`.
   * `Infinity`: no limit. Default: the client's `callTimeout` (35 000).
   */
  timeout?: number;
}

/** A publish or call: waiting in the offline queue, or sent and awaiting its reply. */
interface Outgoing {
  frame: Omit<PublishFrame, "ref"> | Omit<CallFrame, "ref"> | Omit<PresenceFrame, "ref">;
  /** The frame's JSON without its ref, made once, when the caller asked. */
  text: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** When the frame was first written (Date.now(): it goes on while a laptop sleeps). */
  sentAt?: number;
  timer?: ReturnType<typeof setTimeout>;
  done: boolean;
}

/** A request waiting in the outbox: its frame is made with its ref when it is written. */
interface Request extends Awaiting {
  frame(ref: number): string;
  outgoing?: Outgoing;
  /** A refresh: first in line, and past the cap (the server reads one beyond it). */
  urgent?: boolean;
}

/** The most requests awaiting replies at once: the server reads no more past it (docs/protocol.md). */
const MAX_UNANSWERED = 64;

/**
 * The error code a close means when reconnecting would only be refused again
 * (docs/protocol.md's close codes), else undefined: 4408 and 4429 are worth a retry.
 */
function refusalCode(code: number): ErrorCode | undefined {
  if (code === 4404) return "not_found";
  if (code === 1009 || code === 4400 || code === 4413 || code === 4422) return "invalid";
  if (code === 1008 || (code > 4399 && code < 4500 && code !== 4408 && code !== 4429))
    return "forbidden";
}

function resolveWebSocket(given: WebSocketClass | undefined): WebSocketClass {
  const found = given ?? (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
  if (typeof found !== "function")
    throw new TypeError(
      'connect(): this runtime has no global WebSocket (Node 20 has none): pass ws\'s class, connect(url, { WebSocket }) with import { WebSocket } from "ws"',
    );
  return found;
}

// Browsers take http(s) URLs for WebSockets since 2024, older ones and ws do not: refused for all.
function checkUrl(url: string): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {}
  if (protocol !== "ws:" && protocol !== "wss:")
    throw new TypeError(
      `connect(): pass an absolute ws:// or wss:// URL, got ${JSON.stringify(url)}`,
    );
}

/**
 * A client of a sluice real-time endpoint (docs/protocol.md): one WebSocket, reconnected with
 * backoff, whose subscriptions resume where they were and whose publishes are stored once.
 * Made by `connect()`, which types it from a contract as `Realtime<C>` (typed-realtime.ts).
 */
export class RealtimeClient {
  #url: string;
  #WebSocket: WebSocketClass;
  #token: ConnectOptions["token"];
  #reconnect: Required<ReconnectOptions> | false;
  #callTimeout: number;
  #dedupeWindow: number;
  #connectTimeout: number;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #state: ConnectionState = "connecting";
  #events = new Emitter<RealtimeEvents>();
  #socket: WebSocketLike | undefined;
  /**
   * Made at the server's welcome, dropped at close: while it exists the connection takes
   * requests (before the welcome the rate is not known, so nothing is sent).
   */
  #pacer: FramePacer | undefined;
  #pending = new PendingReplies();
  /** Requests not written yet, in order: paced, and held while 64 await their replies. */
  #outbox: Request[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #queue: OfflineQueue<Outgoing>;
  #inFlight = new Set<Outgoing>();
  /**
   * Publishes whose connection closed before their reply (sent again with their `mid`), and
   * publishes and calls it closed before they were written: all go first at the next welcome.
   */
  #resend: Outgoing[] = [];
  #subscriptions = new Map<string, Subscription<unknown>>();
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #resubscribeTimers = new Map<SubscriptionCore, ReturnType<typeof setTimeout>>();
  /** Why the current socket must not be reconnected, when the client decided it. */
  #refusal: { code: number; reason: string } | undefined;
  #clientId: string | undefined;
  #host: SubscriptionHost = {
    subscribe: (subscription) => this.#sendSubscribe(subscription),
    unsubscribe: (subscription) => this.#sendUnsubscribe(subscription.topic),
    retry: (subscription, failures) => {
      const { initialDelay, maxDelay } = this.#reconnect || DEFAULT_RECONNECT;
      const delay = fullJitterDelay(failures, initialDelay, maxDelay);
      // A pause, an unsubscribe or a reconnect (which subscribes anew) makes it moot.
      const timer = setTimeout(() => {
        this.#resubscribeTimers.delete(subscription);
        if (subscription.wanted) this.#sendSubscribe(subscription);
      }, delay);
      this.#resubscribeTimers.set(subscription, timer);
    },
    remove: (subscription) => {
      clearTimeout(this.#resubscribeTimers.get(subscription));
      this.#resubscribeTimers.delete(subscription);
      if (this.#subscriptions.get(subscription.topic) === (subscription as unknown))
        this.#subscriptions.delete(subscription.topic);
    },
    presence: (topic) =>
      this.#submit({ type: "presence", topic }, "").then((r) => (r as PresenceResult).members),
  };

  /** @internal Use connect(). */
  constructor(url: string, options: ConnectOptions = {}) {
    checkUrl(url);
    this.#url = url;
    this.#WebSocket = resolveWebSocket(options.WebSocket);
    if (options.token !== undefined && typeof options.token !== "function")
      throw new TypeError("connect(): token must be a function returning the token (or a promise)");
    this.#token = options.token;
    this.#reconnect = options.reconnect === false ? false : reconnectOptions(options.reconnect);
    this.#queue = new OfflineQueue(options.offlineQueue ?? 100);
    this.#callTimeout = options.callTimeout ?? 35_000;
    this.#dedupeWindow = options.dedupeWindow ?? 120_000;
    this.#connectTimeout = options.connectTimeout ?? 10_000;
    if (!(this.#connectTimeout > 0))
      throw new RangeError("connect(): connectTimeout must be a number of ms > 0");
    if (!(this.#dedupeWindow >= 0))
      throw new RangeError("connect(): dedupeWindow must be a number of ms ≥ 0");
    void this.#open();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The server's id for the current connection (from its welcome), if any. */
  get clientId(): string | undefined {
    return this.#clientId;
  }

  on<K extends keyof RealtimeEvents>(
    name: K,
    listener: (value: RealtimeEvents[K]) => void,
  ): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Follows `topic`. The subscription resumes after the last message it delivered at every
   * reconnect. One subscription per topic per client: unsubscribe before subscribing again.
   */
  subscribe<T = unknown>(
    topic: string,
    options: SubscribeOptions = {},
    onMessage?: (message: RealtimeMessage<T>) => void,
  ): Subscription<T> {
    if (typeof topic !== "string" || topic === "")
      throw new TypeError("subscribe(): topic must be a non-empty string");
    if (options.since !== undefined && typeof options.since !== "string")
      throw new TypeError("subscribe(): since must be a message id (a string)");
    if (options.replay !== undefined && !(Number.isInteger(options.replay) && options.replay >= 1))
      throw new RangeError("subscribe(): replay must be a whole number ≥ 1");
    if (this.#subscriptions.has(topic))
      throw new Error(
        `subscribe(): this client already follows "${topic}": unsubscribe() it first`,
      );
    const subscription = new Subscription<T>(this.#host, topic, options, onMessage);
    if (this.#state === "closed") {
      subscription.end(new RealtimeError("unavailable", "The client is closed"));
      return subscription;
    }
    this.#subscriptions.set(topic, subscription as unknown as Subscription<unknown>);
    this.#sendSubscribe(subscription);
    return subscription;
  }

  /**
   * Publishes `data` to `topic`; resolves the id it was stored under. Offline, it waits in the
   * offline queue; a publish whose reply was lost is sent again with the same message id,
   * which the server stores once.
   */
  publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<string> {
    if (typeof topic !== "string" || topic === "")
      return Promise.reject(new TypeError("publish(): topic must be a non-empty string"));
    if (data === undefined)
      return Promise.reject(new TypeError("publish(): data must be a JSON value, got undefined"));
    const { event, store, echo } = options;
    if (
      event !== undefined &&
      (typeof event !== "string" || /[\r\n]/.test(event) || event === "reset")
    )
      return Promise.reject(
        new TypeError('publish(): event must be a one-line string other than "reset"'),
      );
    const frame: Omit<PublishFrame, "ref"> = { type: "publish", topic, data, mid: messageId() };
    if (event !== undefined) frame.event = event;
    // Sent as given: the server checks them (a non-boolean is an `invalid` reply).
    if (store !== undefined) frame.store = store;
    if (echo !== undefined) frame.echo = echo;
    return this.#submit(frame, "publish(): data") as Promise<string>;
  }

  /** Calls the endpoint's method `method`; resolves its result or rejects with a RealtimeError. */
  call<R = unknown>(method: string, params?: unknown, options: CallOptions = {}): Promise<R> {
    if (typeof method !== "string" || method === "")
      return Promise.reject(new TypeError("call(): method must be a non-empty string"));
    const timeout = options.timeout ?? this.#callTimeout;
    if (!(timeout > 0))
      return Promise.reject(new RangeError("call(): timeout must be a number of ms > 0"));
    const frame: Omit<CallFrame, "ref"> = { type: "call", method };
    if (params !== undefined) frame.params = params;
    return this.#submit(frame, "call(): params", () => {
      const message = `call("${method}") got no reply within ${timeout} ms`;
      return { timeout, error: new RealtimeError("timeout", message) };
    }) as Promise<R>;
  }

  /** Closes the connection for good: waiting publishes and calls reject, iterators end. */
  close(): void {
    if (this.#state === "closed") return;
    this.#finish(new RealtimeError("unavailable", "The client is closed"));
    this.#socket?.close(1000);
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#events.emit("state", state);
  }

  /** What the token function gave, or undefined when it threw (an `error` event says so). */
  async #callToken(): Promise<{ token: string | null | undefined } | undefined> {
    try {
      return { token: await this.#token?.() };
    } catch (error) {
      this.#events.emit(
        "error",
        new Error("connect(): the token function threw", { cause: error }),
      );
    }
  }

  async #open(): Promise<void> {
    const got = await this.#callToken();
    if (!got) {
      this.#retryLater();
      return;
    }
    const { token } = got;
    if (this.#state === "closed") return;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.#url, token ? [PROTOCOL, "bearer", token] : [PROTOCOL]);
    } catch (error) {
      // E.g. a token with characters a subprotocol cannot hold: the next token may do.
      this.#events.emit("error", error instanceof Error ? error : new Error(String(error)));
      this.#retryLater();
      return;
    }
    this.#socket = socket;
    this.#refusal = undefined;
    // Abandoned as closed at once: an upgraded socket's close handshake may wait on a dead peer.
    this.#connectTimer = setTimeout(
      () => {
        this.#closed(socket, 1006, "connect timeout");
        socket.close();
      },
      Math.min(this.#connectTimeout, MAX_TIMER),
    );
    socket.onopen = () => this.#opened(socket);
    socket.onmessage = (event) => {
      if (socket === this.#socket) this.#received(event.data);
    };
    socket.onclose = (event) => this.#closed(socket, event.code, event.reason);
    // The close event follows with the code; without a listener ws would throw the error.
    socket.onerror = () => {};
  }

  #opened(socket: WebSocketLike): void {
    if (socket !== this.#socket || this.#state === "closed") return;
    if (socket.protocol !== PROTOCOL) {
      this.#refusal = {
        code: 1002,
        reason: `The server did not select the ${PROTOCOL} subprotocol (got "${socket.protocol}"): is ${this.#url} an app.realtime() endpoint?`,
      };
      socket.close(1000);
      return;
    }
    const { stableAfter } = this.#reconnect || DEFAULT_RECONNECT;
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, stableAfter);
  }

  /**
   * The server's welcome: the connection is ready; what waited goes out, paced, before the
   * state says "open", so that a state listener's own requests come after it.
   */
  #welcomed(frame: WelcomeFrame): void {
    clearTimeout(this.#connectTimer);
    this.#clientId = frame.clientId;
    this.#pacer = new FramePacer(frame.messageRate);
    for (const subscription of [...this.#subscriptions.values()])
      if (subscription.wanted) this.#sendSubscribe(subscription);
    for (const outgoing of this.#resend.splice(0)) {
      if (outgoing.sentAt !== undefined && Date.now() - outgoing.sentAt > this.#dedupeWindow) {
        const message = `A publish to "${(outgoing.frame as PublishFrame).topic}" lost its reply, and resending it past the dedupe window (${this.#dedupeWindow} ms) could store it twice: it may have been stored`;
        this.#fail(outgoing, new RealtimeError("unavailable", message));
      } else this.#send(outgoing);
    }
    for (const outgoing of this.#queue.drain()) this.#send(outgoing);
    this.#refreshIn(frame.expiresIn);
    this.#setState("open");
  }

  /**
   * Sends a fresh token before the credentials expire in `ms` (see ConnectOptions.token);
   * `retry`: the last refresh failed, try again at half the time left, if a second is.
   */
  #refreshIn(ms: number | null | undefined, retry?: boolean): void {
    clearTimeout(this.#refreshTimer);
    if (ms == null || !this.#token || (retry && ms < 1000)) return;
    const end = Date.now() + ms;
    const delay = retry ? ms / 2 : Math.max(ms * 0.8, ms - 30_000);
    this.#refreshTimer = setTimeout(
      async () => {
        const socket = this.#socket;
        const failed = () => this.#refreshIn(end - Date.now(), true);
        const token = (await this.#callToken())?.token;
        if (socket !== this.#socket || !this.#pacer) return;
        if (!token) return failed();
        this.#request({
          frame: (ref) => JSON.stringify({ type: "refresh", ref, token }),
          reply: (reply) => {
            if (reply.ok) return this.#refreshIn((reply.result as RefreshResult).expiresIn);
            this.#events.emit("error", replyError(reply.error));
            failed();
          },
          lost: () => {},
          urgent: true,
        });
      },
      Math.min(delay, MAX_TIMER),
    );
  }

  #received(data: unknown): void {
    let frame: ServerFrame;
    try {
      if (typeof data !== "string") throw new Error("a binary frame");
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      this.#events.emit("error", new Error("The server sent a frame that is not JSON text"));
      return;
    }
    switch (frame?.type) {
      case "reply":
        if (!this.#pending.settle(frame) && !frame.ok)
          this.#events.emit("error", replyError(frame.error));
        this.#flush();
        break;
      case "message":
        this.#subscriptions.get(frame.topic)?.receive(frame);
        break;
      case "reset":
        this.#subscriptions.get(frame.topic)?.reset(frame);
        break;
      case "join":
      case "leave":
        this.#subscriptions.get(frame.topic)?.member(frame);
        break;
      case "welcome":
        if (this.#socket && this.#state !== "closed") this.#welcomed(frame);
        break;
    }
  }

  #closed(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#stopTimers();
    for (const subscription of this.#subscriptions.values()) subscription.disconnected();
    this.#pending.loseAll();
    // Not written, so not lost: publishes and calls wait for the next welcome (subscribes
    // are made anew there from the subscriptions).
    for (const request of this.#outbox.splice(0))
      if (!request.outgoing) request.lost();
      else if (!request.outgoing.done) this.#resend.push(request.outgoing);
    if (this.#state === "closed") {
      this.#events.emit("close", { code, reason, reconnecting: false });
      return;
    }
    const refusal = this.#refusal ?? (refusalCode(code) ? { code, reason } : undefined);
    if (refusal || this.#reconnect === false) {
      const final = refusal ?? { code, reason };
      const why = `The connection closed with ${final.code}${final.reason ? `: ${final.reason}` : ""}`;
      const error = new RealtimeError(refusalCode(final.code) ?? "unavailable", why);
      this.#finish(error, error);
      this.#events.emit("close", { ...final, reconnecting: false });
      return;
    }
    this.#events.emit("close", { code, reason, reconnecting: true });
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#state === "closed") return;
    if (this.#reconnect === false) {
      const error = new RealtimeError("unavailable", "Could not connect, and reconnect is off");
      this.#finish(error, error);
      this.#events.emit("close", { code: 1006, reason: "could not connect", reconnecting: false });
      return;
    }
    this.#setState(this.#state === "connecting" ? "connecting" : "reconnecting");
    const { initialDelay, maxDelay } = this.#reconnect;
    const delay = fullJitterDelay(this.#attempt++, initialDelay, maxDelay);
    this.#retryTimer = setTimeout(() => void this.#open(), delay);
  }

  /**
   * Closed for good: everything waiting rejects with `error`; iterators end with `endWith`, a
   * refusal or a final close, or quietly after the client's own close().
   */
  #finish(error: RealtimeError, endWith?: RealtimeError): void {
    this.#setState("closed");
    this.#stopTimers();
    const waiting = [
      ...this.#inFlight,
      ...this.#resend.splice(0),
      ...this.#queue.drain(),
      ...this.#outbox.map((request) => request.outgoing),
    ];
    for (const outgoing of waiting) if (outgoing) this.#fail(outgoing, error);
    const ending = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    for (const subscription of ending) subscription.end(endWith);
  }

  /** The connection's pacing and timers stop: it closed, or the client did. */
  #stopTimers(): void {
    for (const timer of [
      this.#connectTimer,
      this.#flushTimer,
      this.#retryTimer,
      this.#stableTimer,
      this.#refreshTimer,
      ...this.#resubscribeTimers.values(),
    ])
      clearTimeout(timer);
    this.#resubscribeTimers.clear();
    this.#pacer = this.#flushTimer = undefined;
  }

  #submit(
    frame: Outgoing["frame"],
    what: string,
    deadline?: () => { timeout: number; error: RealtimeError },
  ): Promise<unknown> {
    let text: string;
    try {
      // Before anything is registered: a BigInt or a cycle is the caller's mistake alone.
      text = JSON.stringify(frame);
    } catch (error) {
      return Promise.reject(
        new TypeError(`${what} cannot be encoded as JSON: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const outgoing: Outgoing = { frame, text, resolve, reject, done: false };
      if (this.#state === "closed") {
        this.#fail(outgoing, new RealtimeError("unavailable", "The client is closed"));
        return;
      }
      if (deadline) {
        const { timeout, error } = deadline();
        if (timeout < Infinity)
          outgoing.timer = setTimeout(
            () => this.#fail(outgoing, error),
            Math.min(timeout, MAX_TIMER),
          );
      }
      if (this.#pacer) {
        this.#send(outgoing);
        return;
      }
      if (!this.#queue.offer(outgoing))
        this.#fail(
          outgoing,
          new RealtimeError(
            "unavailable",
            `Offline, and the offline queue is full (${this.#queue.limit} waiting)`,
          ),
        );
    });
  }

  #send(outgoing: Outgoing): void {
    this.#request({
      outgoing,
      frame: (ref) => {
        outgoing.sentAt ??= Date.now();
        this.#inFlight.add(outgoing);
        return `{"ref":${ref},${outgoing.text.slice(1)}`;
      },
      reply: (reply) => this.#settle(outgoing, reply),
      lost: () => this.#lost(outgoing),
    });
  }

  #request(request: Request): void {
    if (request.urgent) this.#outbox.unshift(request);
    else this.#outbox.push(request);
    this.#flush();
  }

  /** Writes what the outbox holds, as far as the pacer and the cap of unanswered requests allow. */
  #flush(): void {
    const pacer = this.#pacer;
    const socket = this.#socket;
    while (
      pacer &&
      socket?.readyState === OPEN &&
      this.#outbox[0] &&
      (this.#pending.size < MAX_UNANSWERED || this.#outbox[0].urgent)
    ) {
      const request = this.#outbox[0];
      // A call that timed out while waiting here is not sent.
      if (!request.outgoing?.done) {
        const wait = pacer.take();
        if (wait > 0) {
          this.#flushTimer ??= setTimeout(() => {
            this.#flushTimer = undefined;
            this.#flush();
          }, wait);
          return;
        }
        socket.send(request.frame(this.#pending.add(request)));
      }
      this.#outbox.shift();
    }
  }

  #settle(outgoing: Outgoing, reply: ReplyFrame): void {
    if (outgoing.done) return;
    if (!reply.ok) {
      this.#fail(outgoing, replyError(reply.error));
      return;
    }
    this.#forget(outgoing);
    outgoing.resolve(
      outgoing.frame.type === "publish" ? (reply.result as PublishResult).id : reply.result,
    );
  }

  /** Its connection closed before the reply: a publish goes again (same mid), a call fails. */
  #lost(outgoing: Outgoing): void {
    if (outgoing.done) return;
    this.#inFlight.delete(outgoing);
    if (outgoing.frame.type === "publish") {
      this.#resend.push(outgoing);
      return;
    }
    const { frame } = outgoing;
    const message = `The connection closed before the reply to ${frame.type === "call" ? `call("${frame.method}")` : "presence()"} came; it may or may not have run`;
    this.#fail(outgoing, new RealtimeError("unavailable", message));
  }

  #fail(outgoing: Outgoing, error: Error): void {
    if (outgoing.done) return;
    this.#forget(outgoing);
    outgoing.reject(error);
  }

  #forget(outgoing: Outgoing): void {
    outgoing.done = true;
    clearTimeout(outgoing.timer);
    this.#inFlight.delete(outgoing);
    this.#queue.remove(outgoing);
    const resend = this.#resend.indexOf(outgoing);
    if (resend >= 0) this.#resend.splice(resend, 1);
    // A written request stays counted until its reply: the server still holds it.
  }

  #sendSubscribe(subscription: SubscriptionCore): void {
    if (!this.#pacer) return;
    this.#request({
      frame: (ref) => JSON.stringify(subscription.frame(ref)),
      reply: (reply) => subscription.subscribed(reply),
      lost: () => {},
    });
  }

  #sendUnsubscribe(topic: string): Promise<void> {
    if (!this.#pacer) return Promise.resolve();
    return new Promise((resolve) => {
      this.#request({
        frame: (ref) => JSON.stringify({ type: "unsubscribe", ref, topic }),
        reply: () => resolve(),
        lost: () => resolve(),
      });
    });
  }
}
