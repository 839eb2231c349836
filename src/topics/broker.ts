import type { BrokerPresence } from "./broker-presence.js";

/**
 * What a broker stores and delivers: one published message, its data already serialised as
 * JSON (once, by the publisher), with the id that orders it within its topic.
 */
export interface StoredMessage {
  readonly topic: string;
  /**
   * Orders the message in its topic's log. A live-only message (`publish(..., { store: false
   * })`, and presence events) has the id "" (LIVE_ONLY_ID): it was never written to the log,
   * is never replayed and is no resume point; subscribers pass it on without moving their
   * position.
   */
  readonly id: string;
  /** The event type given to publish(), if any. */
  readonly event: string | undefined;
  /** The data as JSON text. */
  readonly json: string;
  /** The client id (a connection) that must not receive this message: the sender's own. */
  readonly except?: string;
  /** Set on a presence event: a member joined or left the topic (its `json` is the member). */
  readonly presence?: "join" | "leave";
}

/** The id of a live-only message: no resume point (see StoredMessage). */
export const LIVE_ONLY_ID = "";

/** What a publisher may ask of one publish, beyond the message itself. */
export interface BrokerPublishOptions {
  /**
   * The publisher's own id for this message: a publish with a key already used on the topic
   * within the broker's dedupe window is not stored or delivered again, and resolves the id
   * the first one got. A client retrying a publish whose reply was lost sends the same key.
   * Two publishes with one key at once store once (the first to reach the broker wins). A
   * non-empty string; Topics.publish also caps it at 200 characters.
   */
  readonly dedupeKey?: string;
  /**
   * `false`: deliver to the topic's current subscribers (in every process) without writing
   * to the log; the publish resolves LIVE_ONLY_ID (""). A dedupe key is ignored then.
   */
  readonly store?: boolean;
  /** A client id that must not receive the message (see StoredMessage.except). */
  readonly except?: string;
  /** A presence event (see StoredMessage.presence): always live-only. */
  readonly presence?: "join" | "leave";
}

/** A window of a topic's log: after an id (exclusive), or the newest messages. */
export interface HistoryQuery {
  /** Only messages after this id. Without it, the newest `limit` messages. */
  readonly after?: string;
  readonly limit: number;
}

/**
 * What a client that comes back with its last id gets: every retained message after it, or,
 * when that id is older than what the log retains (`trimmed`) or not an id of this log
 * (`unknown`: another broker, a restarted memory broker, garbage), a reset. `head` is the
 * id of the newest message (or the log's starting point when it is empty): where a client
 * that reloads its state resumes.
 */
export type Replay =
  | { readonly kind: "messages"; readonly messages: readonly StoredMessage[] }
  | { readonly kind: "reset"; readonly reason: "trimmed" | "unknown"; readonly head: string };

/** Called with each live message of a topic, in the topic's order, once. */
export type Deliver = (message: StoredMessage) => void;

/**
 * A log of messages per topic plus live delivery: memoryBroker() in one process, redisBroker()
 * across many. An App subscribes to a topic at most once and fans out locally.
 */
export interface Broker {
  /**
   * Appends the message to the topic's log and delivers it to every live subscriber (in
   * every process, for a shared broker). Resolves its id; rejects if it could not be stored.
   */
  publish(
    topic: string,
    event: string | undefined,
    json: string,
    options?: BrokerPublishOptions,
  ): Promise<string>;
  /**
   * The id of the topic's newest message, or the log's starting point when it holds none:
   * a subscriber that resumes after it gets every message published since. Optional for
   * brokers written before it (the topics layer then asks `replay` with an id no log gives).
   */
  head?(topic: string): Promise<string>;
  /** Messages of the topic's log, oldest first (see HistoryQuery). */
  history(topic: string, query: HistoryQuery): Promise<StoredMessage[]>;
  /** What a client whose last seen message is `lastId` missed (see Replay). */
  replay(topic: string, lastId: string): Promise<Replay>;
  /**
   * Starts live delivery of the topic's messages to `deliver`; resolves once delivery is
   * live (messages published after that are delivered). Resolves the function that stops it.
   */
  subscribe(topic: string, deliver: Deliver): Promise<() => void>;
  /** Orders two ids of this broker: negative when `a` comes before `b`, 0 when equal. */
  compareIds(a: string, b: string): number;
  /**
   * Who is subscribed to each topic with presence, across every process. Optional for brokers
   * written before it: `app.presence()` and subscribing with presence then throw.
   */
  readonly presence?: BrokerPresence;
  /**
   * Times the broker's connection came back after being lost (`app.metrics()`'s
   * `brokerReconnects`). Optional: a broker without it (the memory broker, which never
   * loses one) counts 0.
   */
  readonly reconnects?: number;
  /** Stops delivery and lets go of connections. */
  close(): Promise<void>;
}
