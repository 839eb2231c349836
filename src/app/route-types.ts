import type { PathParams } from "../http/path-params.js";
import type { SluiceRequest } from "../http/request.js";
import type { SseEventSchemas, SseSchemaHandlerResult } from "../sse/sse-event-schemas.js";
import type { SseHandlerResult } from "../sse/sse-route.js";
import type { SluiceWebSocket } from "../websocket/sluice-websocket.js";

/*
 * The types route handlers get: a request whose `params` are those of the route's path and
 * whose `state` holds what the app declared. Types only: the router and the middleware fill
 * these in at run time, nothing here checks them.
 */

type AnyParams = Record<string, string>;
type AnyState = Record<string, unknown>;

/**
 * What `req.state` is in an App's handlers: what the app declared, and any other key as
 * `unknown`, for middleware to set (`req.state.user = "alice"` compiles in any app).
 */
export type RequestState<State extends object> = State & AnyState;

/** An HTTP route's handler. */
export type Handler<Params extends AnyParams = AnyParams, State extends object = AnyState> = (
  request: SluiceRequest<Params, RequestState<State>>,
) => unknown;

/** An `sse()` route's handler: what it returns becomes the event stream (see `App.sse`). */
export type SseRouteHandler<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
> = (
  request: SluiceRequest<Params, RequestState<State>>,
) => SseHandlerResult | Promise<SseHandlerResult>;

/**
 * The handler of an `sse()` route that declared its `events`: what it yields is typed by
 * event name (see SseEventOf).
 */
export type SseSchemaRouteHandler<
  Params extends AnyParams,
  State extends object,
  Events extends SseEventSchemas,
> = (
  request: SluiceRequest<Params, RequestState<State>>,
) => SseSchemaHandlerResult<Events> | Promise<SseSchemaHandlerResult<Events>>;

/** The socket a `websocket()` route's handler gets, its upgrade request typed as the route's. */
export type TypedWebSocket<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
> = SluiceWebSocket & { readonly request: SluiceRequest<Params, RequestState<State>> };

/** A `websocket()` route's handler: it has the socket for as long as it runs. */
export type WebSocketRouteHandler<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
> = (
  socket: TypedWebSocket<Params, State>,
  request: SluiceRequest<Params, RequestState<State>>,
) => unknown;

/**
 * The socket of a `websocket()` route that declared a `message` schema: its loop and
 * `receive()` yield `In` (the schema's output, parsed and validated), and `send()` takes
 * `Out`: the `send` schema's input when the route declared one (always sent as JSON text),
 * anything otherwise.
 */
export type SchemaWebSocket<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
  In = unknown,
  Out = unknown,
> = Omit<
  TypedWebSocket<Params, State>,
  "send" | "sendJson" | "receive" | "receiveJson" | typeof Symbol.asyncIterator
> & {
  send(value: Out): Promise<void>;
  sendJson(value: Out): Promise<void>;
  receive(): Promise<In | undefined>;
  [Symbol.asyncIterator](): AsyncIterator<In>;
};

/** The handler of a `websocket()` route that declared a `message` schema. */
export type SchemaWebSocketHandler<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
  In = unknown,
  Out = unknown,
> = (
  socket: SchemaWebSocket<Params, State, In, Out>,
  request: SluiceRequest<Params, RequestState<State>>,
) => unknown;

/** The params of a route registered as `path` under `prefix` (a group's, or "" on the app). */
export type RouteParams<Prefix extends string, Path extends string> = string extends Prefix | Path
  ? AnyParams
  : PathParams<`${Prefix}${Path}`>;

/** `State` with what a middleware adds; unchanged by one that declares nothing. */
export type WithState<State extends object, Adds extends object> = [keyof Adds] extends [never]
  ? State
  : State & Adds;
