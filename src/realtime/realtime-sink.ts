import type { TopicSink } from "../topics/topic-hub.js";
import type { TopicMessage } from "../topics/topic-message.js";
import type { FrameTarget } from "../websocket/socket-topics.js";

/**
 * One subscription of a real-time WebSocket: a topic's messages as protocol frames, through
 * the socket's own send path (corked per tick, 1013 past maxBuffered) with the frame every
 * subscriber shares. It holds everything back until `open()`: the subscribe's reply goes out
 * first, then what was replayed, then live messages, in order.
 */
export class RealtimeSink implements TopicSink {
  #held: TopicMessage[] | undefined = [];
  #stopped = false;

  constructor(private readonly socket: FrameTarget) {}

  receive(message: TopicMessage): void {
    if (this.#stopped) return;
    if (this.#held) this.#held.push(message);
    // A send refused because the socket closed is pre-handled; the session ends with it.
    else void this.socket.send(message.realtimeFrame);
  }

  receiveMissed(messages: TopicMessage[]): void {
    for (const message of messages) this.receive(message);
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
        await this.socket.send((held[next] as TopicMessage).realtimeFrame);
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
}
