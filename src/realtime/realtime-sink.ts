import type { Logger } from "pino";
import type { TopicSink } from "../topics/topic-hub.js";
import type { TopicMessage } from "../topics/topic-message.js";
import { logSafely } from "../util/logger.js";
import { TrafficCounters } from "../util/traffic-counters.js";
import { CloseCode } from "../websocket/close-codes.js";
import { WebSocketMessage } from "../websocket/websocket-message.js";
import { presenceEventFrame } from "./realtime-presence.js";

/** A frame waiting in a sink until open() sends it; `live`: not a replayed one. */
interface Held {
  readonly frame: WebSocketMessage;
  readonly live: boolean;
}

/** What a sent entry of the held list is replaced by: the frame is let go at once. */
const SENT: Held = { frame: WebSocketMessage.text(""), live: false };

/** What a sink needs of its socket: the shared send path, and a close for a peer too slow. */
export interface SinkSocket {
  send(message: WebSocketMessage): Promise<void>;
  close(code: number, reason: string): void;
}

/**
 * One subscription of a real-time WebSocket: a topic's messages as protocol frames, through
 * the socket's own send path (corked per tick, 1013 past maxBuffered) with the frame every
 * subscriber shares. It holds everything back until `open()`: the subscribe's reply goes out
 * first, then what was replayed, then live messages, in order. Live messages held while the
 * replay goes out at the peer's pace are bounded by `maxHeldBytes`, like a live socket's
 * send buffer: past it the peer is closed with 1013 and resumes with `since`.
 */
export class RealtimeSink implements TopicSink {
  #held: Held[] | undefined = [];
  /** Bytes of the live messages held and not sent yet. */
  #heldLiveBytes = 0;
  #stopped = false;

  constructor(
    private readonly socket: SinkSocket,
    private readonly maxHeldBytes: number,
    private readonly log: Logger,
    /** The connection's client id: a message published `except` it is not sent here. */
    readonly clientId?: string,
    /** Whether the subscribe asked for `join`/`leave` frames. */
    readonly joinLeave = false,
    /** The App's counters (its deliveries and cut-offs). */
    private readonly counters = new TrafficCounters(),
  ) {}

  receive(message: TopicMessage): void {
    if (this.#stopped) return;
    const frame = this.#frameOf(message);
    if (frame === undefined) return;
    if (!this.#held) {
      // A send refused because the socket closed is pre-handled; the session ends with it.
      this.counters.deliveredWebSocket++;
      void this.socket.send(frame);
      return;
    }
    this.#heldLiveBytes += frame.payload.length;
    if (this.#heldLiveBytes > this.maxHeldBytes) {
      this.#tooSlow();
      return;
    }
    this.#held.push({ frame, live: true });
  }

  /** Replayed messages are held without a bound: the log bounds them, and open() paces them. */
  receiveMissed(messages: TopicMessage[]): void {
    if (this.#stopped) return;
    for (const message of messages) {
      if (!this.#held) {
        this.receive(message);
        continue;
      }
      const frame = this.#frameOf(message);
      if (frame !== undefined) this.#held.push({ frame, live: false });
    }
  }

  /**
   * Sends what was held at the peer's pace (a long replay must not count as a peer that does
   * not read), then lets live messages through as they come.
   */
  async open(): Promise<void> {
    const held = this.#held;
    if (!held) return;
    try {
      // Messages that arrive while this awaits are appended and sent in turn.
      for (let next = 0; next < held.length && !this.#stopped; next++) {
        const { frame, live } = held[next] as Held;
        held[next] = SENT;
        if (live) this.#heldLiveBytes -= frame.payload.length;
        this.counters.deliveredWebSocket++;
        await this.socket.send(frame);
      }
    } catch {
      // The socket closed: the session stops every subscription.
    }
    this.#held = undefined;
  }

  /** Nothing more is sent (unsubscribed, or the socket closed). */
  stop(): void {
    this.#stopped = true;
    this.#held = undefined;
  }

  /** The message's frame, or undefined (logged) when its stored text is not JSON. */
  #frameOf(message: TopicMessage): WebSocketMessage | undefined {
    try {
      if (message.presence) return presenceEventFrame(message, message.presence);
      return message.realtimeFrame;
    } catch (error) {
      logSafely(
        this.log,
        "error",
        { err: error, topic: message.topic, id: message.id },
        "realtime: a stored message is not JSON; dropped",
      );
      return undefined;
    }
  }

  #tooSlow(): void {
    this.stop();
    this.counters.slowConsumerCutoffs++;
    logSafely(
      this.log,
      "warn",
      { maxBuffered: this.maxHeldBytes },
      "realtime: live messages held behind a replay passed maxBuffered; closed with 1013",
    );
    this.socket.close(CloseCode.tryAgainLater, "Peer too slow: send buffer full");
  }
}
