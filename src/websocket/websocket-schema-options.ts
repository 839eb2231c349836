import type { ValidationError } from "../http/validation-error.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { InboxMessage } from "./message-inbox.js";
import type { WebSocketOptions } from "./websocket-options.js";

/**
 * What a schema route does with a message that is not JSON or fails `message`: `"close"`
 * closes the socket (1007 for what is not JSON, 1008 for a schema failure, the first issue
 * as the reason) and ends the handler's loop after the messages before it; `"skip"` drops
 * the message (logged at debug); a function gets the ValidationError (target "message"),
 * the socket and the message as it arrived, may answer (`socket.send(...)`), and the message
 * is then skipped; what it throws is thrown in the handler's loop.
 */
export type OnInvalidMessage<Socket> =
  | "close"
  | "skip"
  | ((error: ValidationError, socket: Socket, raw: InboxMessage) => unknown);

/**
 * A typed WebSocket route's options: the route's WebSocketOptions and its schemas. `message`
 * validates what clients send (the handler's loop yields the schema's output); `send` types
 * `socket.send()` (its input) and, with the App's `validateOutput`, checks it.
 */
export interface WebSocketSchemaOptions<
  Message extends StandardSchemaV1,
  Send extends StandardSchemaV1 | undefined,
  Socket,
> extends WebSocketOptions {
  /** The schema of every message a client sends, parsed as JSON first. */
  message: Message;
  /** The schema of what the handler sends: `socket.send(value)` then always sends JSON text. */
  send?: Send;
  /** Default "close". */
  onInvalid?: OnInvalidMessage<Socket>;
}

/**
 * A WebSocket route's options with a `send` schema and no `message`: `socket.send()` is
 * typed and checked, what the handler reads stays strings and bytes.
 */
export interface WebSocketSendSchemaOptions<Send extends StandardSchemaV1>
  extends WebSocketOptions {
  /** The schema of what the handler sends: `socket.send(value)` then always sends JSON text. */
  send: Send;
  message?: undefined;
  /** Needs a `message` schema to apply to. */
  onInvalid?: undefined;
}

/**
 * A WebSocket route's options without schemas. The schema keys are refused, so that options
 * which declare them (held in a variable, say) never match the untyped overload, whose
 * handler would be told it reads strings and bytes.
 */
export type PlainWebSocketOptions = WebSocketOptions & {
  message?: never;
  send?: never;
  onInvalid?: never;
};

/** What a WebSocket route's options may hold, typed or not, before they are checked. */
export interface WebSocketRouteOptions extends WebSocketOptions {
  message?: StandardSchemaV1;
  send?: StandardSchemaV1;
  onInvalid?: OnInvalidMessage<never>;
}
