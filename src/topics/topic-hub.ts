import type { Logger } from "pino";
import { logSafely } from "../util/logger.js";
import type { Broker, StoredMessage } from "./broker.js";
import { TopicMessage } from "./topic-message.js";

/** Something local that receives a topic's messages: an SSE subscription, a WebSocket. */
export interface TopicSink {
  receive(message: TopicMessage): void;
  /**
   * The messages a resuming subscriber missed, all at once: they may exceed what live
   * messages are allowed to pile up, and a sink may take its time (resolve when done).
   */
  receiveMissed?(messages: TopicMessage[]): void | Promise<void>;
  /** Called when the App closes: stop, let go of the topic. */
  end?(): void;
  /** The client (connection) this sink delivers to: a message `except` it skips the sink. */
  readonly clientId?: string;
  /** Whether it wants the topic's presence events (join/leave); others never see them. */
  readonly joinLeave?: boolean;
}

interface LocalTopic {
  readonly sinks: Set<TopicSink>;
  /** The broker subscription: resolves once live, to the function that ends it. */
  readonly live: Promise<() => void>;
}

/**
 * The process's side of the topics: one broker subscription per topic however many local
 * subscribers it has, and the fan-out to them. Each message becomes one TopicMessage, whose
 * encodings every subscriber then shares.
 */
export class TopicHub {
  private readonly topics = new Map<string, LocalTopic>();

  constructor(
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {}

  /** Local subscribers across all topics. */
  get sinkCount(): number {
    let count = 0;
    for (const topic of this.topics.values()) count += topic.sinks.size;
    return count;
  }

  /** Adds a subscriber; resolves once the topic is live (rejects if the broker failed). */
  async attach(topic: string, sink: TopicSink): Promise<void> {
    const local = this.topics.get(topic) ?? this.open(topic);
    local.sinks.add(sink);
    try {
      await local.live;
    } catch (error) {
      this.detach(topic, sink);
      throw error;
    }
  }

  /** Removes a subscriber; the broker subscription ends with the topic's last one. */
  detach(topic: string, sink: TopicSink): void {
    const local = this.topics.get(topic);
    if (!local?.sinks.delete(sink) || local.sinks.size > 0) return;
    this.topics.delete(topic);
    local.live.then(
      (stop) => stop(),
      () => {},
    );
  }

  /** Ends every local subscriber (the App is closing). */
  endAll(): void {
    for (const [topic, local] of [...this.topics]) {
      for (const sink of [...local.sinks]) {
        sink.end?.();
        this.detach(topic, sink);
      }
    }
  }

  private open(topic: string): LocalTopic {
    const sinks = new Set<TopicSink>();
    const live = this.broker.subscribe(topic, (stored) => this.fanOut(sinks, stored));
    const local = { sinks, live };
    this.topics.set(topic, local);
    // A failed subscription is forgotten, so the next subscriber tries again.
    live.catch(() => {
      if (this.topics.get(topic) === local) this.topics.delete(topic);
    });
    return local;
  }

  private fanOut(sinks: Set<TopicSink>, stored: StoredMessage): void {
    if (sinks.size === 0) return;
    const message = new TopicMessage(stored);
    const { except, presence } = stored;
    for (const sink of sinks) {
      if (presence !== undefined && !sink.joinLeave) continue;
      if (except !== undefined && sink.clientId === except) continue;
      try {
        sink.receive(message);
      } catch (error) {
        logSafely(
          this.logger,
          "error",
          { err: error, topic: stored.topic },
          "a topic subscriber failed",
        );
      }
    }
  }
}
