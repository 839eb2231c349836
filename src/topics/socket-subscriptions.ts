import type { TrafficCounters } from "../util/traffic-counters.js";
import type {
  FrameTarget,
  SocketSubscribeOptions,
  SocketTopicSet,
} from "../websocket/socket-topics.js";
import type { Broker } from "./broker.js";
import type { BrokerPresence } from "./broker-presence.js";
import { presenceInfoJson } from "./presence-member.js";
import { presenceOf } from "./presence-of.js";
import { attachStarting, type SubscribeStart } from "./subscribe-at.js";
import { checkLastEventId, checkReplay, checkTopic, describe } from "./topic-checks.js";
import type { TopicHub, TopicSink } from "./topic-hub.js";
import type { TopicMessage } from "./topic-message.js";

/** A topic followed: its sink once live (undefined if that failed), and its presence. */
interface Followed {
  readonly sink: Promise<TopicSink | undefined>;
  /** The presence store the socket joined, when it subscribed with `presence`. */
  readonly presence: BrokerPresence | undefined;
}

/** How a socket joins a topic's presence: the store and the info's JSON. */
interface Joining {
  readonly presence: BrokerPresence;
  readonly infoJson: string;
}

/**
 * The topics one WebSocket follows. Each message goes out as the envelope frame every
 * subscriber shares; the socket's own limit on what may queue for a slow peer (close 1013)
 * bounds memory, and the client resumes with the last id it saw.
 */
export class SocketSubscriptions implements SocketTopicSet {
  private readonly followed = new Map<string, Followed>();
  /**
   * Unsubscribes still detaching and leaving: a new subscribe to the topic waits for them.
   * Made by the first unsubscribe: an idle socket that never leaves a topic holds no map.
   */
  private leaving: Map<string, Promise<void>> | undefined;
  private closed = false;

  constructor(
    private readonly hub: TopicHub,
    private readonly broker: Broker,
    private readonly socket: FrameTarget,
    private readonly counters: TrafficCounters,
  ) {}

  /** Resolves once live (and joined); a topic already followed is left as it is. */
  async subscribe(topic: string, options: SocketSubscribeOptions = {}): Promise<void> {
    checkTopic(topic);
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "socket.subscribe() options must be an object: { lastEventId?, replay?, presence?, joinLeave? }",
      );
    }
    const start = {
      lastEventId: checkLastEventId(options.lastEventId),
      replay: checkReplay(options.replay, "socket.subscribe()"),
    };
    const joinLeave = options.joinLeave ?? false;
    if (typeof joinLeave !== "boolean") {
      throw new TypeError(
        `socket.subscribe() joinLeave must be a boolean, got ${describe(joinLeave)}`,
      );
    }
    const joining = this.joiningOf(options.presence);
    if (this.closed) throw new Error(`The WebSocket is closed; it cannot subscribe to "${topic}"`);
    const existing = this.followed.get(topic);
    if (existing) {
      await existing.sink;
      return;
    }
    // After a pending unsubscribe's leave: it would otherwise undo this join (same client id).
    const attached = this.afterLeaving(topic).then(() =>
      this.follow(topic, start, new SocketSink(this.socket, joinLeave, this.counters), joining),
    );
    const entry = { sink: attached.catch(() => undefined), presence: joining?.presence };
    this.followed.set(topic, entry);
    try {
      await attached;
    } catch (error) {
      if (this.followed.get(topic) === entry) this.followed.delete(topic);
      throw error;
    }
    // An unsubscribe() during the set-up detaches the sink (and leaves) once it settles.
  }

  /** Stops following the topic (nothing happens if it was not followed); leaves its presence. */
  unsubscribe(topic: string): void {
    const followed = this.followed.get(topic);
    if (!followed) return;
    this.followed.delete(topic);
    const left = followed.sink.then(async (attached) => {
      if (!attached) return;
      this.hub.detach(topic, attached);
      // A leave that fails (Redis away) is not retried: the member expires by itself.
      await followed.presence?.leave(topic, this.socket.id).catch(() => {});
    });
    this.leaving ??= new Map();
    this.leaving.set(topic, left);
    void left.then(() => {
      if (this.leaving?.get(topic) === left) this.leaving.delete(topic);
    });
  }

  /** Settles once the topic's pending unsubscribe (if any) has detached and left. */
  private afterLeaving(topic: string): Promise<void> {
    return this.leaving?.get(topic) ?? Promise.resolve();
  }

  /** The topics followed now. */
  get topicNames(): string[] {
    return [...this.followed.keys()];
  }

  /** The socket closed: every subscription ends. */
  closeAll(): void {
    this.closed = true;
    for (const topic of [...this.followed.keys()]) this.unsubscribe(topic);
  }

  /** The presence store and the info's JSON for `presence`, checked before anything starts. */
  private joiningOf(info: unknown): Joining | undefined {
    if (info === undefined) return undefined;
    return {
      presence: presenceOf(this.broker, "socket.subscribe() with presence"),
      infoJson: presenceInfoJson(info, "socket.subscribe() presence"),
    };
  }

  /** Attaches the sink, then joins the presence (live first: it sees its own join). */
  private async follow(
    topic: string,
    start: SubscribeStart,
    target: SocketSink,
    joining: Joining | undefined,
  ): Promise<TopicSink> {
    const sink = await attachStarting(this.hub, this.broker, topic, start, target);
    if (!joining) return sink;
    try {
      await joining.presence.join(topic, this.socket.id, joining.infoJson);
    } catch (error) {
      this.hub.detach(topic, sink);
      // It may have joined before the failure (its event not published): undo it.
      joining.presence.leave(topic, this.socket.id).catch(() => {});
      throw error;
    }
    return sink;
  }
}

class SocketSink implements TopicSink {
  constructor(
    private readonly socket: FrameTarget,
    readonly joinLeave: boolean,
    private readonly counters: TrafficCounters,
  ) {}

  get clientId(): string {
    return this.socket.id;
  }

  receive(message: TopicMessage): void {
    // A send refused because the socket closed is pre-handled; the subscription ends with it.
    this.counters.deliveredWebSocket++;
    void this.socket.send(message.webSocketMessage);
  }

  /** Sent at the peer's pace: a long replay must not count as a peer that does not read. */
  async receiveMissed(messages: TopicMessage[]): Promise<void> {
    try {
      for (const message of messages) {
        this.counters.deliveredWebSocket++;
        await this.socket.send(message.webSocketMessage);
      }
    } catch {
      // The socket closed during the replay: nothing more to send.
    }
  }
}
