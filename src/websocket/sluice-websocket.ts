import type { Duplex } from "node:stream";
import type { RawData, WebSocket } from "ws";
import { expiryDeadline, refreshCredentials } from "../http/credentials.js";
import type { SluiceRequest } from "../http/request.js";
import {
  ForbiddenJsonKeyError,
  type JsonParseOptions,
  parseJson,
  protoKeysOption,
} from "../http/safe-json.js";
import { currentTurn, queueFlush } from "../stream/flush-queue.js";
import { connectionId } from "../util/connection-id.js";
import type { Deadline } from "../util/deadline.js";
import { stringifyJson } from "../util/json.js";
import { CloseCode, checkCloseArguments } from "./close-codes.js";
import { DrainSignal } from "./drain-signal.js";
import { KEEP_OPEN, type KeepOpen } from "./keep-open.js";
import { type LinkedWebSocket, ownerOf } from "./linked-websocket.js";
import type { MessageDecoder } from "./message-decoder.js";
import { Inbox, InboxIterator, type InboxMessage } from "./message-inbox.js";
import type { MessageRateLimit } from "./message-rate.js";
import { MessageReader } from "./message-reader.js";
import { refusedSend, type SendEncoder } from "./send-encoder.js";
import {
  type CloseInfo,
  closeCodeForError,
  closeOutcome,
  refusedAsClosed,
  WebSocketClosedError,
} from "./socket-close.js";
import { MESSAGE_RATE_EXCEEDED, type SocketLimits } from "./socket-limits.js";
import type { SocketSubscribeOptions, SocketTopicSet, SocketTopics } from "./socket-topics.js";
import { encodeFrame, toFrame, WebSocketMessage } from "./websocket-message.js";

/** Told once a socket's connection is closed (the gateway's list of open sockets). */
export interface SocketRegistry {
  socketClosed(socket: SluiceWebSocket): void;
  /** The App's topics, which `socket.subscribe()` joins. */
  readonly topics: SocketTopics;
}

const OPEN = 1;
const RESOLVED = Promise.resolve();

/**
 * The inbox of a socket that ended before anything was received or read: an ended, empty
 * inbox hands out nothing and takes nothing, so all such sockets share this one.
 */
const ENDED_INBOX = new Inbox();
ENDED_INBOX.end();

/**
 * One WebSocket connection as a handler sees it: messages to iterate (or `receive()`), `send`
 * for strings (text), bytes (binary) and anything else (JSON text), `close`, and `closed`.
 * Frames sent within one turn of the event loop after the first are corked together.
 * Backpressure both ways: an awaited `send` waits while much is queued for the peer, and a
 * peer whose messages the handler does not read is paused. A peer that lets more than
 * `maxBuffered` pile up across ticks (a broadcast that does not await) is closed with 1013.
 */
export class SluiceWebSocket implements AsyncIterable<InboxMessage> {
  // Also a Flushable (flush-queue) and a StallGuard (its inbox), by members the published
  // `.d.ts` leaves out: so no `implements` for those, which that `.d.ts` could not satisfy.

  /** The upgrade request: params, query, headers, and the `state` middleware set. */
  readonly request: SluiceRequest;

  // What an idle connection holds is kept small: no closure per socket (ws calls the shared
  // listeners below with `this` = the ws socket, which links back here), and the inbox, the
  // drain signal and the `closed` promise are made when first needed.
  readonly #ws: LinkedWebSocket<SluiceWebSocket>;
  readonly #transport: Duplex;
  readonly #limits: SocketLimits;
  readonly #registry: SocketRegistry;
  /** Created by the first message or read; ENDED_INBOX when the socket ended before that. */
  #inbox: Inbox | undefined;
  /** A schema route's reader, created by the first read. */
  #reader: MessageReader | undefined;
  /** Created by the first send that has to wait for the peer. */
  #drain: DrainSignal | undefined;
  /**
   * While a `send` schema's async check is pending, the sends after it wait behind it, so
   * frames leave in the order send() was called: this settles (never rejects) once the last
   * of them is written or refused. Undefined when nothing waits (always, without a schema).
   */
  #sendTail: Promise<void> | undefined;
  #closedPromise: Promise<CloseInfo> | undefined;
  #resolveClosed: ((info: CloseInfo) => void) | undefined;
  /**
   * No extension was agreed on (no permessage-deflate): frames go to the socket as built,
   * a prepared message's frame shared by every socket. ws's sender writes at once in that
   * case too, so frames it sends itself (ping, close) keep their order.
   */
  readonly #plainFrames: boolean;
  #corked = false;
  /** The event-loop turn of the last send (see currentTurn). */
  #lastSendTurn = -1;
  /**
   * More than one frame was sent in the last turn that sent any: the next turn's sends are
   * corked from the first, since a socket fed in bursts keeps being fed in bursts.
   */
  #sentBurst = false;
  /** The close frame this side sent (by `close()`, or by ws on a protocol error). */
  #sentClose: CloseInfo | undefined;
  #closeReason: "app-closing" | "client-disconnected" = "client-disconnected";
  /** The topics this socket follows, made by the first subscribe(). */
  #subscriptions: SocketTopicSet | undefined;
  /** When this socket's message rate bucket is full again (see MessageRateLimit). */
  #rateFullAt = 0;
  /** Set when the heartbeat's ping goes out, cleared by the pong. */
  #awaitingPong = false;
  /** Closes the socket when the upgrade's credentials expire (only when they do). */
  #expiry: Deadline | undefined;

  /** @internal the gateway makes these, one per upgraded connection. */
  constructor(
    ws: LinkedWebSocket<SluiceWebSocket>,
    transport: Duplex,
    request: SluiceRequest,
    limits: SocketLimits,
    registry: SocketRegistry,
  ) {
    this.#ws = ws;
    this.#transport = transport;
    this.request = request;
    this.#limits = limits;
    this.#registry = registry;
    this.#plainFrames = ws.extensions === "";
    ws.owner = this;
    ws.on("message", SluiceWebSocket.#listeners.message);
    ws.on("pong", SluiceWebSocket.#listeners.pong);
    ws.on("error", SluiceWebSocket.#listeners.error);
    // 'close' comes once: `on`, not `once` (which wraps the listener in two more objects).
    ws.on("close", SluiceWebSocket.#listeners.close);
    this.#armExpiry();
  }

  /**
   * Verifies a new token with the auth middleware that accepted the upgrade (`bearerAuth`,
   * `jwtAuth`), as it verified the first: on success `request.state.auth` is its principal
   * and the socket closes with 4001 at the new token's expiry instead of the old one's (with
   * jwtAuth, the token must be for the same `sub`). Rejects with the HttpError that refused
   * it (a 401 for an expired, invalid or other subject's token; a 400 when no such middleware
   * authenticated this socket), and the old expiry stands. How the token reaches the server
   * is the app's protocol (the real-time endpoint's is its `refresh` frame).
   *
   * ```ts
   * for await (const frame of socket) {
   *   const { type, token } = JSON.parse(String(frame));
   *   if (type !== "refresh") continue;
   *   const ok = await socket.refreshAuth(token).then(() => true, () => false);
   *   await socket.sendJson({ type: "refreshed", ok }); // refused: it still closes at the old expiry
   * }
   * ```
   */
  async refreshAuth(token: string): Promise<void> {
    await refreshCredentials(this.request, token);
    this.#expiry?.cancel();
    this.#armExpiry();
  }

  /** Closes with 4001 when the request's credentials expire, unless refreshed by then. */
  #armExpiry(): void {
    if (this.#ws.readyState > OPEN) return;
    this.#expiry = expiryDeadline(this.request, () => this.#credentialsExpired());
  }

  #credentialsExpired(): void {
    this.#expiry = undefined;
    if (this.#ws.readyState !== OPEN) return;
    this.request.log.info("WebSocket credentials expired; closed with 4001");
    this.close(CloseCode.credentialsExpired, "credentials expired");
  }

  /**
   * Follows a topic: every message published to it arrives as a JSON text frame
   * `{"topic","id","event","data"}` (event "message" when none was given). With
   * `lastEventId`, the retained messages after it come first (or a `reset` envelope when it
   * is gone); with `replay: n`, the latest `n` retained messages. Resolves once live; ends
   * when the socket closes. A peer that falls behind
   * by more than `maxBuffered` is closed with 1013 and resumes from the last id it saw.
   */
  subscribe(topic: string, options?: SocketSubscribeOptions): Promise<void> {
    this.#subscriptions ??= this.#registry.topics.followedBy(this);
    if (this.#ws.readyState !== OPEN) this.#subscriptions.closeAll();
    return this.#subscriptions.subscribe(topic, options);
  }

  /**
   * The topics this socket follows now, in the order it subscribed (one still going live
   * included); empty once it closed. A copy: changing it changes nothing.
   */
  get topics(): readonly string[] {
    return this.#subscriptions?.topicNames ?? [];
  }

  /** Stops following a topic (nothing happens if this socket did not follow it). */
  unsubscribe(topic: string): void {
    this.#subscriptions?.unsubscribe(topic);
  }

  /**
   * This connection's id, made by the server (a random UUID), never taken from the client
   * (unlike the request id, which `x-request-id` can set): the client id that presence lists
   * and `except` matches. Log lines carry the upgrade request's id (`reqId`).
   */
  readonly id: string = connectionId();

  /** Settles (never rejects) once the connection is closed, with the close code and reason. */
  get closed(): Promise<CloseInfo> {
    this.#closedPromise ??= new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    return this.#closedPromise;
  }

  /** The subprotocol agreed on, or "" when none was. */
  get protocol(): string {
    return this.#ws.protocol;
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed: as in the browser's WebSocket. */
  get readyState(): number {
    return this.#ws.readyState;
  }

  /** Bytes queued for the peer and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Aborts when the connection closes: pass it on to work that should stop with it. */
  get signal(): AbortSignal {
    return this.request.signal;
  }

  /**
   * Sends a string as a text frame, a Buffer/Uint8Array as a binary frame, a
   * WebSocketMessage as prepared, anything else as JSON text. Resolves once the frame is
   * handed to the socket, or, while more than a high-water mark is queued for the peer,
   * once that is written out (so an awaiting loop keeps pace with the peer). Rejects on a
   * closed socket or a value JSON cannot encode. On a route with a `send` schema, any value
   * goes as JSON text (a string too), checked against the schema when `validateOutput` is on
   * (an OutputValidationError, logged, and nothing sent, when it fails). Frames leave in the
   * order send() was called, an async schema's check included.
   */
  send(data: unknown): Promise<void> {
    const encoder = this.#limits.encoder;
    // A prepared message (a topic's envelope) is sent as it is, schema or not.
    if (encoder !== undefined && !(data instanceof WebSocketMessage)) {
      return this.#sendEncoded(encoder, data);
    }
    if (this.#sendTail !== undefined) return this.#sendInOrder(data);
    return this.#sendData(data);
  }

  #sendData(data: unknown): Promise<void> {
    if (this.#ws.readyState !== OPEN) return refusedAsClosed(this.id);
    let frame: ReturnType<typeof toFrame>;
    try {
      frame = toFrame(data);
    } catch (error) {
      return Promise.reject(error);
    }
    const turn = currentTurn();
    if (turn !== this.#lastSendTurn) {
      // The first send of a turn: what is still queued from earlier turns is what the peer
      // has not taken. What this turn sends is the app's burst, judged on the next one.
      if (this.#ws.bufferedAmount > this.#limits.maxBuffered) {
        this.#closeSlowConsumer();
        return refusedAsClosed(this.id);
      }
      this.#lastSendTurn = turn;
      // A lone frame goes out at once, unless the last turn was a burst: then this one is
      // likely a burst too, and its first frame waits for the rest (one writev, not two).
      if (this.#sentBurst) {
        this.#sentBurst = false;
        this.#corkUntilTickEnds();
      }
    } else {
      // From the second frame of a turn on, frames are corked and leave together when the
      // turn ends.
      this.#sentBurst = true;
      if (!this.#corked) this.#corkUntilTickEnds();
    }
    if (this.#plainFrames) this.#writeFrame(frame);
    else this.#ws.send(frame.payload, { binary: frame.binary });
    if (this.#ws.bufferedAmount <= this.#limits.sendHighWater) return RESOLVED;
    this.#drain ??= new DrainSignal(this.#transport);
    return this.#drain.wait();
  }

  /** Sends the value as JSON text, whatever its type (a string becomes a JSON string). */
  sendJson(value: unknown): Promise<void> {
    const encoder = this.#limits.encoder;
    if (encoder !== undefined) return this.#sendEncoded(encoder, value);
    let json: string;
    try {
      json = stringifyJson(value);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sendData(json);
  }

  #sendEncoded(encoder: SendEncoder, value: unknown): Promise<void> {
    let json: string | Promise<string>;
    try {
      json = encoder.encode(value);
    } catch (error) {
      return refusedSend(this.request.log, error);
    }
    if (typeof json === "string" && this.#sendTail === undefined) return this.#sendData(json);
    return this.#sendInOrder(json);
  }

  /**
   * Sends `frame` (data, or a pending check's JSON text) once the frames before it are
   * written: a refusal is reported in its turn, and never holds up the frames after it.
   */
  #sendInOrder(frame: unknown): Promise<void> {
    const tail = this.#sendTail;
    const checked = Promise.resolve(frame);
    let ready = checked;
    if (tail !== undefined) {
      // Handled now: a check refused while the frames before it still wait is no unhandled
      // rejection; it is reported below, in its turn.
      checked.catch(ignore);
      ready = tail.then(() => checked);
    }
    const sent = ready.then(
      (data) => this.#sendData(data),
      (error: unknown) => refusedSend(this.request.log, error),
    );
    // Registered after `sent`'s: it runs once this frame is written (or refused).
    const settled: Promise<void> = ready.then(
      () => this.#sendSettled(settled),
      () => this.#sendSettled(settled),
    );
    this.#sendTail = settled;
    // Handled here too: a send nobody awaits (or catches) must not end the process with an
    // unhandled rejection; a caller that awaits still gets it.
    sent.catch(ignore);
    return sent;
  }

  /**
   * @internal settles once the sends waiting behind an async check have gone out (or been
   * refused): the session closes a returned handler's socket after them, not before, so a
   * last `send()` that was not awaited still reaches the peer. Undefined when none wait.
   */
  get sendsPending(): Promise<void> | undefined {
    return this.#sendTail;
  }

  #sendSettled(settled: Promise<void>): void {
    if (this.#sendTail === settled) this.#sendTail = undefined;
  }

  /**
   * The next message (string for text, Buffer for binary), or undefined once closed. On a
   * route with a `message` schema: the next valid message, parsed and validated.
   */
  receive(): Promise<InboxMessage | undefined> {
    const decoder = this.#limits.decoder;
    if (decoder !== undefined) return this.#readerOf(decoder).take() as Promise<InboxMessage>;
    return this.#messages().take();
  }

  /**
   * The next message parsed as JSON, or undefined once closed. A SyntaxError if it is not
   * JSON or, unless `protoKeys` says otherwise, if it holds a `__proto__` or
   * `constructor.prototype` key (answer either with `close(CloseCode.invalidPayload)`). On a
   * route with a `message` schema, as `receive()`: validated, whatever `options` say.
   */
  async receiveJson<T = unknown>(options?: JsonParseOptions): Promise<T | undefined> {
    const protoKeys = protoKeysOption(options);
    const decoder = this.#limits.decoder;
    if (decoder !== undefined) return (await this.#readerOf(decoder).take()) as T | undefined;
    const message = await this.#messages().take();
    if (message === undefined) return undefined;
    const text = typeof message === "string" ? message : message.toString("utf8");
    try {
      return parseJson(text, protoKeys) as T;
    } catch (error) {
      const what = error instanceof ForbiddenJsonKeyError ? "was refused" : "is not valid JSON";
      throw new SyntaxError(`WebSocket message ${what}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Starts the closing handshake (default 1000). Iteration ends after the messages already
   * received; the connection is cut if the peer does not answer within the close timeout.
   */
  close(code: number = CloseCode.normal, reason = ""): void {
    checkCloseArguments(code, reason);
    if (this.#ws.readyState !== OPEN) return;
    this.#endInbox();
    this.#sentClose = { code, reason };
    this.#ws.close(code, reason);
  }

  /**
   * What a handler returns to leave the socket open after it returns (`return
   * socket.keepOpen()`), rather than have its return close the socket with 1000. For a socket
   * that only follows topics: it holds no suspended handler (no `await socket.closed` frame)
   * for as long as it is open, and closes when its peer does, on `close()`, or on shutdown.
   * Nothing reads its messages: a peer that sends is paused, then closed with 1013 once
   * unread past the route's heartbeat (or 30 s), as for any handler that stops reading.
   */
  keepOpen(): KeepOpen {
    return KEEP_OPEN;
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.#endInbox();
    this.#ws.terminate();
  }

  [Symbol.asyncIterator](): AsyncIterator<InboxMessage> {
    const decoder = this.#limits.decoder;
    if (decoder !== undefined) return this.#readerOf(decoder) as AsyncIterator<InboxMessage>;
    // Leaving a loop early does not close the socket: the handler's end does.
    return new InboxIterator(this.#messages());
  }

  /** @internal the app is shutting down. */
  closeForShutdown(): void {
    this.#closeReason = "app-closing";
    this.close(CloseCode.goingAway, "Server shutting down");
  }

  /**
   * @internal heartbeat: false when the previous ping is still unanswered (the peer is
   * gone); otherwise pings again. A socket whose handler is behind is not judged: its peer's
   * data, the pong among it, is not being read until the handler catches up.
   */
  pingUnlessUnanswered(): boolean {
    if (this.#inbox?.isThrottling) return true;
    if (this.#awaitingPong) return false;
    this.#awaitingPong = true;
    if (this.#ws.readyState === OPEN) this.#ws.ping();
    return true;
  }

  /** @internal flush-queue callback: the tick is over, let the corked frames go. */
  flushScheduled(): void {
    this.#corked = false;
    this.#transport.uncork();
  }

  #writeFrame(frame: ReturnType<typeof toFrame>): void {
    const wire =
      frame instanceof WebSocketMessage ? frame.frame : encodeFrame(frame.payload, frame.binary);
    if (!Array.isArray(wire)) {
      this.#transport.write(wire);
      return;
    }
    // Header and a large payload: one writev, without copying the payload.
    if (!this.#corked) this.#transport.cork();
    for (const part of wire) this.#transport.write(part);
    if (!this.#corked) this.#transport.uncork();
  }

  #corkUntilTickEnds(): void {
    this.#corked = true;
    this.#transport.cork();
    queueFlush(this);
  }

  #closeSlowConsumer(): void {
    this.request.counters.slowConsumerCutoffs++;
    this.request.log.warn(
      { bufferedAmount: this.#ws.bufferedAmount, maxBuffered: this.#limits.maxBuffered },
      "WebSocket peer is not reading; closed with 1013",
    );
    this.close(CloseCode.tryAgainLater, "Peer too slow: send buffer full");
  }

  /** @internal inbox: how long the handler may leave its peer paused, in ms. */
  get unreadTimeout(): number {
    return this.#limits.unreadTimeout;
  }

  /** @internal inbox: the peer stayed paused for that long. */
  closeUnread(): void {
    this.request.log.warn(
      { timeoutMs: this.#limits.unreadTimeout },
      "WebSocket handler left its peer's messages unread too long; closed with 1013",
    );
    this.close(CloseCode.tryAgainLater, "Messages not read in time");
  }

  /** One more message than the route's messageRate lets in: nothing more is delivered. */
  #closeOverRate(rate: MessageRateLimit): void {
    if (this.#ws.readyState !== OPEN) return;
    this.request.log.warn(
      { messageRate: rate.rate },
      "WebSocket peer exceeded its message rate; closed with 1008",
    );
    this.close(CloseCode.policyViolation, MESSAGE_RATE_EXCEEDED);
  }

  /** The inbox, made by the first message or read (it pauses the peer when unread). */
  #messages(): Inbox {
    this.#inbox ??= new Inbox(this.#ws, this);
    return this.#inbox;
  }

  /** A schema route's messages, parsed and validated, made by the first read. */
  #readerOf(decoder: MessageDecoder): MessageReader {
    this.#reader ??= new MessageReader(this.#messages(), this, decoder);
    return this.#reader;
  }

  /** No more messages: readers get what is queued, then the end. */
  #endInbox(): void {
    if (this.#inbox) this.#inbox.end();
    else this.#inbox = ENDED_INBOX;
  }

  /** The connection is closed: every waiter learns it, and so does the gateway. */
  #ended(code: number, reason: string): void {
    this.#expiry?.cancel();
    this.#endInbox();
    this.#subscriptions?.closeAll();
    this.#drain?.fail(new WebSocketClosedError(this.id));
    this.request.abort(this.#closeReason);
    const info = closeOutcome(code, reason, this.#sentClose);
    if (this.#resolveClosed) this.#resolveClosed(info);
    else this.#closedPromise ??= Promise.resolve(info);
    this.#resolveClosed = undefined;
    this.#registry.socketClosed(this);
  }

  /**
   * The listeners ws calls for every connection, with `this` = the ws socket: one function per
   * event for all sockets instead of closures per socket. Written in the class body, so they
   * may use its private members.
   */
  static readonly #listeners = {
    message(this: WebSocket, data: RawData, isBinary: boolean): void {
      // binaryType is "nodebuffer": a (reassembled) message arrives as one Buffer.
      const bytes = data as Buffer;
      const socket = ownerOf<SluiceWebSocket>(this);
      if (!socket) return;
      const rate = socket.#limits.messageRate;
      if (rate !== undefined) {
        const fullAt = rate.admit(socket.#rateFullAt, performance.now());
        if (fullAt < 0) {
          // Closing ends the inbox: what was let in before is still read, nothing after.
          socket.#closeOverRate(rate);
          return;
        }
        socket.#rateFullAt = fullAt;
      }
      socket.#messages().deliver(isBinary ? bytes : bytes.toString("utf8"));
    },

    pong(this: WebSocket): void {
      const socket = ownerOf<SluiceWebSocket>(this);
      if (socket) socket.#awaitingPong = false;
    },

    /** ws closes the socket itself on a protocol error (1002, 1007, 1009): note the code. */
    error(this: WebSocket, error: Error): void {
      const socket = ownerOf<SluiceWebSocket>(this);
      if (!socket) return;
      socket.#sentClose ??= { code: closeCodeForError(error), reason: "" };
      socket.request.log.debug({ err: error }, "WebSocket protocol error; connection closed");
    },

    close(this: WebSocket, code: number, reason: Buffer): void {
      const socket = ownerOf<SluiceWebSocket>(this);
      if (socket) socket.#ended(code, reason.toString("utf8"));
    },
  };
}

function ignore(): void {}
