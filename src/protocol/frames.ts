// The frames of the sluice real-time protocol (docs/protocol.md), shared by the server
// (src/realtime) and the client (src/client). Types and constants only: the client bundle
// that runs in browsers imports this file, so it must import nothing.

/** The WebSocket subprotocol a real-time endpoint speaks. */
export const PROTOCOL = "sluice.v1";

/** The codes an error reply carries (docs/protocol.md, "Error codes"). */
export const ERROR_CODES = [
  "forbidden",
  "not_found",
  "invalid",
  "timeout",
  "unavailable",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A request's reference, echoed by its reply: a safe integer or a string of ≤ 64 chars. */
export type Ref = number | string;

/** Longest `ref` and `mid` strings, in characters. */
export const MAX_REF_LENGTH = 64;
export const MAX_MID_LENGTH = 64;
/** Most topics one SSE request of a real-time endpoint may name. */
export const MAX_SSE_TOPICS = 32;

// Client to server.

export interface SubscribeFrame {
  type: "subscribe";
  ref: Ref;
  topic: string;
  since?: string;
  replay?: number;
  /**
   * Join the topic's presence. The value is what the client offers as its info; the endpoint's
   * `presence` option decides what is published (the client's offer is never trusted unless the
   * app says so). Any JSON value; `true` offers nothing but asks to join.
   */
  presence?: unknown;
  /** Receive `join` and `leave` frames for the topic's presence. */
  joinLeave?: boolean;
}

export interface UnsubscribeFrame {
  type: "unsubscribe";
  ref: Ref;
  topic: string;
}

export interface PublishFrame {
  type: "publish";
  ref: Ref;
  topic: string;
  data: unknown;
  event?: string;
  mid?: string;
  /** `false`: a live-only message, delivered to current subscribers, never stored (id ""). */
  store?: boolean;
  /** `false`: the publishing connection does not receive its own message. */
  echo?: boolean;
}

export interface CallFrame {
  type: "call";
  ref: Ref;
  method: string;
  params?: unknown;
}

/** Asks who is in a topic's presence (the client must be allowed to subscribe to it). */
export interface PresenceFrame {
  type: "presence";
  ref: Ref;
  topic: string;
}

/** A new token for this connection, verified like the first: its expiry replaces the old one. */
export interface RefreshFrame {
  type: "refresh";
  ref: Ref;
  token: string;
}

export type ClientFrame =
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | CallFrame
  | PresenceFrame
  | RefreshFrame;

// Server to client.

export interface WelcomeFrame {
  type: "welcome";
  clientId: string;
  protocol: typeof PROTOCOL;
  heartbeat: number;
  /**
   * The most frames the server reads from this client: a burst of `messages`, refilled at
   * `messages` per `perMs` ms (null: no limit). A frame past it closes the connection with
   * 1008; clients pace themselves below it.
   */
  messageRate: { messages: number; perMs: number } | null;
  /**
   * Ms until this connection's credentials expire (null: they do not): at that moment the
   * server closes with CLOSE_EXPIRED (4001) unless a `refresh` frame brought a new token.
   */
  expiresIn: number | null;
}

/** One reason data or params were refused by the endpoint's contract (docs/protocol.md). */
export interface ErrorIssue {
  /** Where in the value, as code writes it: `items[0].name`; "" for the value itself. */
  path: string;
  /** The same place as a JSON Pointer: `/items/0/name`. */
  pointer: string;
  /** The rule broken, in the schema library's words. */
  message: string;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** With `invalid` for data or params a schema refused: each issue, at most 100. */
  issues?: ErrorIssue[];
}

export type ReplyFrame =
  | { type: "reply"; ref: Ref; ok: true; result: unknown }
  | { type: "reply"; ref: Ref | null; ok: false; error: ErrorBody };

export interface MessageFrame {
  type: "message";
  topic: string;
  /** The message's id in the topic's log; "" for a live-only message (no resume point). */
  id: string;
  event: string;
  data: unknown;
}

export interface ResetFrame {
  type: "reset";
  topic: string;
  /** The topic's newest id: messages after it follow. */
  id: string;
  reason: "trimmed" | "unknown";
  /** The id the client asked to resume after. */
  since: string;
}

/** One member of a topic's presence: a connection, its info, when it joined (ms epoch). */
export interface PresenceMemberFrame {
  clientId: string;
  info: unknown;
  since: number;
}

/** A member joined (`join`) or left (`leave`) a topic the client asked `joinLeave` of. */
export interface PresenceEventFrame {
  type: "join" | "leave";
  topic: string;
  member: PresenceMemberFrame;
}

export type ServerFrame =
  | WelcomeFrame
  | ReplyFrame
  | MessageFrame
  | ResetFrame
  | PresenceEventFrame;

/** The reply `result` of a subscribe: where the subscription starts (docs/protocol.md). */
export interface SubscribeResult {
  position: string | null;
}

/** The reply `result` of a publish: the id the message was stored under ("" if live-only). */
export interface PublishResult {
  id: string;
}

/** The reply `result` of a presence request: the topic's members, oldest first. */
export interface PresenceResult {
  members: PresenceMemberFrame[];
}

/** The reply `result` of a refresh: ms until the new credentials expire (null: never). */
export interface RefreshResult {
  expiresIn: number | null;
}

/** The close code of a connection whose credentials expired and were not refreshed. */
export const CLOSE_EXPIRED = 4001;
