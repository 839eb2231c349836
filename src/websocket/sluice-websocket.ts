import type { Socket } from "node:net";
import type { WebSocket as WsSocket } from "ws";
import { currentTurn, type Flushable, queueFlush } from "../http/flush-queue.js";
import type { SluiceRequest } from "../http/request.js";
import { CloseCode, checkCloseArguments } from "./close-codes.js";
import { DrainSignal } from "./drain-signal.js";
import { Inbox, type IncomingMessage } from "./inbox.js";
import { encodeFrame, stringifyJson, toFrame, WebSocketMessage } from "./websocket-message.js";

export interface CloseInfo {
  code: number;
  reason: string;
}

/** @internal per-route limits a socket enforces. */
export interface SocketLimits {
  maxBuffered: number;
  /** How long the handler may leave the peer paused (not reading its messages), in ms. */
  unreadTimeout: number;
}

/** Bytes queued for the peer past which `send()` resolves only once they are written out. */
const SEND_HIGH_WATER = 256 * 1024;

/** Thrown by `send()` on a socket that is closing or closed. */
export class WebSocketClosedError extends Error {
  constructor(readonly socketId: string) {
    super(`WebSocket ${socketId} is closed; the message was not sent`);
    this.name = "WebSocketClosedError";
  }
}

const OPEN = 1;
const RESOLVED = Promise.resolve();
const ignore = () => {};

/**
 * A rejection that awaiting callers see, but that is already handled: a fire-and-forget
 * broadcast (`for (const s of sockets) s.send(m)`) that reaches a socket closing at that
 * moment must not become an unhandled rejection that ends the process.
 */
function refusedAsClosed(socketId: string): Promise<void> {
  const refused = Promise.reject(new WebSocketClosedError(socketId));
  refused.catch(ignore);
  return refused;
}

/**
 * One WebSocket connection as a handler sees it: messages to iterate (or `receive()`), `send`
 * for strings (text), bytes (binary) and anything else (JSON text), `close`, and `closed`.
 * Frames sent within one turn of the event loop after the first are corked together.
 * Backpressure both ways: an awaited `send` waits while much is queued for the peer, and a
 * peer whose messages the handler does not read is paused. A peer that lets more than
 * `maxBuffered` pile up across ticks (a broadcast that does not await) is closed with 1013.
 */
export class SluiceWebSocket implements AsyncIterable<IncomingMessage>, Flushable {
  /** The id of the upgrade request: it stamps this socket's log lines too. */
  readonly id: string;
  /** The upgrade request: params, query, headers, and the `state` middleware set. */
  readonly request: SluiceRequest;
  /** Settles (never rejects) once the connection is closed, with the close code and reason. */
  readonly closed: Promise<CloseInfo>;
  /** @internal set when a ping goes out, cleared by the pong. */
  awaitingPong = false;

  private readonly ws: WsSocket;
  private readonly transport: Socket;
  private readonly maxBuffered: number;
  private readonly sendHighWater: number;
  private readonly inbox: Inbox;
  private readonly drain: DrainSignal;
  /**
   * No extension was agreed on (no permessage-deflate): frames go to the socket as built,
   * a prepared message's frame shared by every socket. ws's sender writes at once in that
   * case too, so frames it sends itself (ping, close) keep their order.
   */
  private readonly plainFrames: boolean;
  private corked = false;
  /** The event-loop turn of the last send (see currentTurn). */
  private lastSendTurn = -1;
  /** The close frame this side sent (by `close()`, or by ws on a protocol error). */
  private sentClose: CloseInfo | undefined;
  private closeReason: "app-closing" | "client-disconnected" = "client-disconnected";

  constructor(ws: WsSocket, transport: Socket, request: SluiceRequest, limits: SocketLimits) {
    this.ws = ws;
    this.transport = transport;
    this.request = request;
    this.id = request.id;
    this.maxBuffered = limits.maxBuffered;
    this.sendHighWater = Math.min(SEND_HIGH_WATER, Math.ceil(limits.maxBuffered / 2));
    this.drain = new DrainSignal(transport);
    this.plainFrames = ws.extensions === "";
    this.inbox = new Inbox(ws, {
      timeoutMs: limits.unreadTimeout,
      onStalled: () => this.closeUnread(limits.unreadTimeout),
    });
    ws.on("message", (data, isBinary) => {
      // binaryType is "nodebuffer": a (reassembled) message arrives as one Buffer.
      const bytes = data as Buffer;
      this.inbox.deliver(isBinary ? bytes : bytes.toString("utf8"));
    });
    ws.on("pong", () => {
      this.awaitingPong = false;
    });
    // ws closes the socket itself on a protocol error (1002, 1007, 1009): note the code.
    ws.on("error", (error) => {
      this.sentClose ??= { code: closeCodeForError(error), reason: "" };
      request.log.debug({ err: error }, "WebSocket protocol error; connection closed");
    });
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        this.inbox.end();
        this.drain.fail(new WebSocketClosedError(this.id));
        request.abort(this.closeReason);
        resolve(closeOutcome(code, reason.toString("utf8"), this.sentClose));
      });
    });
  }

  /** The subprotocol agreed on, or "" when none was. */
  get protocol(): string {
    return this.ws.protocol;
  }

  /** 0 connecting, 1 open, 2 closing, 3 closed: as in the browser's WebSocket. */
  get readyState(): number {
    return this.ws.readyState;
  }

  /** Bytes queued for the peer and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
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
   * closed socket or a value JSON cannot encode.
   */
  send(data: unknown): Promise<void> {
    if (this.ws.readyState !== OPEN) return refusedAsClosed(this.id);
    let frame: ReturnType<typeof toFrame>;
    try {
      frame = toFrame(data);
    } catch (error) {
      return Promise.reject(error);
    }
    const turn = currentTurn();
    if (turn !== this.lastSendTurn) {
      // The first send of a turn: what is still queued from earlier turns is what the peer
      // has not taken. What this turn sends is the app's burst, judged on the next one.
      if (this.ws.bufferedAmount > this.maxBuffered) {
        this.closeSlowConsumer();
        return refusedAsClosed(this.id);
      }
      this.lastSendTurn = turn;
      // A lone frame goes out at once; from the second one in the same turn on, frames are
      // corked and leave together when the turn ends.
    } else if (!this.corked) this.corkUntilTickEnds();
    if (this.plainFrames) this.writeFrame(frame);
    else this.ws.send(frame.payload, { binary: frame.binary });
    return this.ws.bufferedAmount > this.sendHighWater ? this.drain.wait() : RESOLVED;
  }

  /** Sends the value as JSON text, whatever its type (a string becomes a JSON string). */
  sendJson(value: unknown): Promise<void> {
    let json: string;
    try {
      json = stringifyJson(value);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.send(json);
  }

  /** The next message (string for text, Buffer for binary), or undefined once closed. */
  receive(): Promise<IncomingMessage | undefined> {
    return this.inbox.take();
  }

  /** The next message parsed as JSON, or undefined once closed; a SyntaxError if it is not JSON. */
  async receiveJson<T = unknown>(): Promise<T | undefined> {
    const message = await this.inbox.take();
    if (message === undefined) return undefined;
    try {
      return JSON.parse(typeof message === "string" ? message : message.toString("utf8")) as T;
    } catch (error) {
      throw new SyntaxError(`WebSocket message is not valid JSON: ${(error as Error).message}`, {
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
    if (this.ws.readyState !== OPEN) return;
    this.inbox.end();
    this.sentClose = { code, reason };
    this.ws.close(code, reason);
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.inbox.end();
    this.ws.terminate();
  }

  [Symbol.asyncIterator](): AsyncIterator<IncomingMessage> {
    return {
      next: () => this.inbox.next(),
      // Leaving a loop early does not close the socket: the handler's end does.
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  /** @internal the app is shutting down. */
  closeForShutdown(): void {
    this.closeReason = "app-closing";
    this.close(CloseCode.goingAway, "Server shutting down");
  }

  /** @internal heartbeat: true while this side is not reading the peer (the handler is behind). */
  get isThrottled(): boolean {
    return this.inbox.isThrottling;
  }

  /** @internal heartbeat */
  ping(): void {
    if (this.ws.readyState === OPEN) this.ws.ping();
  }

  /** @internal flush-queue callback: the tick is over, let the corked frames go. */
  flushScheduled(): void {
    this.corked = false;
    this.transport.uncork();
  }

  private writeFrame(frame: ReturnType<typeof toFrame>): void {
    const wire =
      frame instanceof WebSocketMessage ? frame.frame : encodeFrame(frame.payload, frame.binary);
    if (!Array.isArray(wire)) {
      this.transport.write(wire);
      return;
    }
    // Header and a large payload: one writev, without copying the payload.
    if (!this.corked) this.transport.cork();
    for (const part of wire) this.transport.write(part);
    if (!this.corked) this.transport.uncork();
  }

  private corkUntilTickEnds(): void {
    this.corked = true;
    this.transport.cork();
    queueFlush(this);
  }

  private closeSlowConsumer(): void {
    this.request.log.warn(
      { bufferedAmount: this.ws.bufferedAmount, maxBuffered: this.maxBuffered },
      "WebSocket peer is not reading; closed with 1013",
    );
    this.close(CloseCode.tryAgainLater, "Peer too slow: send buffer full");
  }

  private closeUnread(timeoutMs: number): void {
    this.request.log.warn(
      { timeoutMs },
      "WebSocket handler left its peer's messages unread too long; closed with 1013",
    );
    this.close(CloseCode.tryAgainLater, "Messages not read in time");
  }
}

/**
 * What `closed` reports: the peer's close frame when there was one; otherwise (the peer
 * dropped the connection, or never answered ours) the close frame this side sent; 1006
 * when neither side sent one.
 */
function closeOutcome(code: number, reason: string, sent: CloseInfo | undefined): CloseInfo {
  const peerSentNone = code === CloseCode.abnormal || code === CloseCode.noStatus;
  // A peer answering our close often echoes the code alone (browsers, undici): keep our reason.
  const peerEchoed = sent !== undefined && code === sent.code && reason === "";
  if (sent && (peerSentNone || peerEchoed)) return sent;
  return { code, reason };
}

/**
 * The code ws closes with after a protocol error: the one it attaches to the error (under a
 * symbol of its own), else what its error code says.
 */
function closeCodeForError(error: Error & { code?: string }): number {
  const symbol = Object.getOwnPropertySymbols(error).find(
    (key) => key.description === "status-code",
  );
  const attached = symbol ? (error as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof attached === "number") return attached;
  switch (error.code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
    case "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH":
      return CloseCode.messageTooBig;
    case "WS_ERR_INVALID_UTF8":
      return CloseCode.invalidPayload;
    case "WS_ERR_TOO_MANY_BUFFERED_PARTS":
      return CloseCode.policyViolation;
    default:
      return CloseCode.protocolError;
  }
}
