import type { WebSocketMessage } from "./websocket-message.js";

/** Options of `socket.subscribe()`. */
export interface SocketSubscribeOptions {
  /** Replay every retained message after this id first, as `app.subscribe()` does. */
  lastEventId?: string;
  /**
   * The latest `replay` retained messages first (at most 10 000), then live ones, as
   * `app.subscribe()` does; `lastEventId` wins when both are given.
   */
  replay?: number;
  /**
   * Join the topic's presence with this info (any JSON value, at most 4 096 bytes as JSON;
   * `null` for none): `app.presence(topic)` lists the socket (as `{ clientId: socket.id,
   * info, since }`) until it unsubscribes or closes, and `join`/`leave` events go to the
   * subscribers that asked for them. Your server code gives it (take it from
   * `socket.request.state`, the auth principal): it is published as it is.
   */
  presence?: unknown;
  /**
   * Also receive the topic's presence events, as envelope frames `{"topic","id":"","event":
   * "join"|"leave","data":{ clientId, info, since }}`. Default false.
   */
  joinLeave?: boolean;
}

/** What a topic subscription needs of its socket: its id, a way to send a prepared frame. */
export interface FrameTarget {
  /** The socket's client id: a message published `except` it skips it; presence lists it. */
  readonly id: string;
  send(message: WebSocketMessage): Promise<void>;
}

/** The topics one socket follows: what `socket.subscribe()` and `unsubscribe()` act on. */
export interface SocketTopicSet {
  /** Resolves once live; a topic already followed is left as it is. */
  subscribe(topic: string, options?: SocketSubscribeOptions): Promise<void>;
  /** Stops following the topic (nothing happens if it was not followed). */
  unsubscribe(topic: string): void;
  /** The socket closed: every subscription ends. */
  closeAll(): void;
  /** The topics followed now (subscribing ones included), in the order subscribed. */
  readonly topicNames: readonly string[];
}

/**
 * Topics as the App hands them to its WebSocket routes. The WebSocket layer knows only this
 * shape; the topics layer above implements it, so the two never import each other both ways.
 */
export interface SocketTopics {
  /** A set of subscriptions for one socket, made on its first `subscribe()`. */
  followedBy(socket: FrameTarget): SocketTopicSet;
}
