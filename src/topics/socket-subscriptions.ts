import type {
  FrameTarget,
  SocketSubscribeOptions,
  SocketTopicSet,
} from "../websocket/socket-topics.js";
import type { Broker } from "./broker.js";
import { attachStarting } from "./subscribe-at.js";
import { checkLastEventId, checkReplay, checkTopic } from "./topic-checks.js";
import type { TopicHub, TopicSink } from "./topic-hub.js";
import type { TopicMessage } from "./topic-message.js";

/**
 * The topics one WebSocket follows. Each message goes out as the envelope frame every
 * subscriber shares; the socket's own limit on what may queue for a slow peer (close 1013)
 * bounds memory, and the client resumes with the last id it saw.
 */
export class SocketSubscriptions implements SocketTopicSet {
  private readonly sinks = new Map<string, Promise<TopicSink | undefined>>();
  private closed = false;

  constructor(
    private readonly hub: TopicHub,
    private readonly broker: Broker,
    private readonly socket: FrameTarget,
  ) {}

  /** Resolves once live; a topic already followed is left as it is. */
  async subscribe(topic: string, options: SocketSubscribeOptions = {}): Promise<void> {
    checkTopic(topic);
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "socket.subscribe() options must be an object: { lastEventId?, replay? }",
      );
    }
    const start = {
      lastEventId: checkLastEventId(options.lastEventId),
      replay: checkReplay(options.replay, "socket.subscribe()"),
    };
    if (this.closed) throw new Error(`The WebSocket is closed; it cannot subscribe to "${topic}"`);
    const existing = this.sinks.get(topic);
    if (existing) {
      await existing;
      return;
    }
    const sink = new SocketSink(this.socket);
    const attached = attachStarting(this.hub, this.broker, topic, start, sink);
    const settled = attached.catch(() => undefined);
    this.sinks.set(topic, settled);
    try {
      await attached;
    } catch (error) {
      if (this.sinks.get(topic) === settled) this.sinks.delete(topic);
      throw error;
    }
    // An unsubscribe() during the set-up detaches the sink once `settled` resolves.
  }

  /** Stops following the topic (nothing happens if it was not followed). */
  unsubscribe(topic: string): void {
    const sink = this.sinks.get(topic);
    if (!sink) return;
    this.sinks.delete(topic);
    void sink.then((attached) => attached && this.hub.detach(topic, attached));
  }

  /** The topics followed now. */
  get topicNames(): string[] {
    return [...this.sinks.keys()];
  }

  /** The socket closed: every subscription ends. */
  closeAll(): void {
    this.closed = true;
    for (const topic of [...this.sinks.keys()]) this.unsubscribe(topic);
  }
}

class SocketSink implements TopicSink {
  constructor(private readonly socket: FrameTarget) {}

  get clientId(): string {
    return this.socket.id;
  }

  receive(message: TopicMessage): void {
    // A send refused because the socket closed is pre-handled; the subscription ends with it.
    void this.socket.send(message.webSocketMessage);
  }

  /** Sent at the peer's pace: a long replay must not count as a peer that does not read. */
  async receiveMissed(messages: TopicMessage[]): Promise<void> {
    try {
      for (const message of messages) await this.socket.send(message.webSocketMessage);
    } catch {
      // The socket closed during the replay: nothing more to send.
    }
  }
}
