import type { IncomingHttpHeaders } from "node:http";
import type { HttpResponse } from "../http/http-response.js";
import type { PathParams } from "../http/path-params.js";
import type { SluiceRequest } from "../http/request.js";
import type { StreamingResponse } from "../http/streaming-response.js";
import type { SseEventSchemas, SseSchemaHandlerResult } from "../sse/sse-event-schemas.js";
import type { SseHandlerResult } from "../sse/sse-route.js";
import type { InferInput, InferOutput, StandardSchemaV1 } from "../util/standard-schema.js";
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

/**
 * The Standard Schemas (zod, valibot, arktype...) an HTTP route may declare, each optional:
 * what it receives (`body`, `query`, `params`, `headers`: validated before the handler runs,
 * the handler gets each schema's output) and what it answers (`response`: the handler's
 * return type, checked when the App's `validateOutput` is on).
 */
export interface RouteSchemas {
  readonly body?: StandardSchemaV1;
  readonly query?: StandardSchemaV1;
  readonly params?: StandardSchemaV1;
  readonly headers?: StandardSchemaV1;
  /**
   * What the handler returns (a response of its own making, a stream, is not checked). Typed
   * always; checked only while the App's `validateOutput` is on, which it is unless NODE_ENV
   * is "production": there the compiler has typed the value already and a check per response
   * would be paid on every request to find a bug tests should have found.
   */
  readonly response?: StandardSchemaV1;
}

/** The output of the schema `Schemas` declares under `Key`, or `Otherwise` when none. */
type OutputOf<Schemas, Key extends keyof RouteSchemas, Otherwise> = Key extends keyof Schemas
  ? Schemas[Key] extends StandardSchemaV1
    ? InferOutput<Schemas[Key]>
    : Otherwise
  : Otherwise;

/** The request members a route's schemas replace (`body` is only added, never replaced). */
type ReplacedParts<Schemas> = Extract<keyof Schemas, "params" | "query" | "headers">;

/**
 * The request of a route with schemas: `params` and `query` are their schemas' outputs where
 * one was given (`query` is then a record, not URLSearchParams), `headers` all of Node's with
 * the headers schema's output over them, and `body` is there only with a `body` schema, as
 * its output (undefined when the request had no body and the schema allows it). Without
 * those schemas, the members are SluiceRequest's own.
 */
export type ValidatedRequest<
  Params extends AnyParams,
  State extends object,
  Schemas extends RouteSchemas,
> = ([ReplacedParts<Schemas>] extends [never]
  ? SluiceRequest<Params, RequestState<State>>
  : Omit<SluiceRequest<Params, RequestState<State>>, ReplacedParts<Schemas>> & {
      params: OutputOf<Schemas, "params", Params>;
      readonly query: OutputOf<Schemas, "query", URLSearchParams>;
      readonly headers: IncomingHttpHeaders & OutputOf<Schemas, "headers", unknown>;
    }) &
  ("body" extends keyof Schemas ? { readonly body: OutputOf<Schemas, "body", unknown> } : unknown);

/**
 * What the handler of a route with a `response` schema may return: the schema's input (what
 * is sent is the value itself, never the schema's output), or a response of its own making,
 * which is not checked. Anything without one.
 */
export type RouteResult<Schemas extends RouteSchemas> = "response" extends keyof Schemas
  ? Schemas["response"] extends StandardSchemaV1
    ? MaybePromise<
        InferInput<Schemas["response"]> | HttpResponse | StreamingResponse<unknown> | Response
      >
    : unknown
  : unknown;

type MaybePromise<T> = T | Promise<T>;

/** The handler of an HTTP route declared with schemas. */
export type ValidatedHandler<
  Params extends AnyParams,
  State extends object,
  Schemas extends RouteSchemas,
> = (request: ValidatedRequest<Params, State, Schemas>) => RouteResult<Schemas>;

/**
 * `Schemas` with any key RouteSchemas does not know typed as `never` (a misspelt `bdy` then
 * fails to compile instead of being ignored), and a head schema that could never accept what
 * its part delivers typed as a SchemaMismatch naming why (see FittingHeadSchemas).
 */
export type KnownSchemas<Schemas, Params extends AnyParams = AnyParams> = Schemas &
  Record<Exclude<keyof Schemas, keyof RouteSchemas>, never> &
  FittingHeadSchemas<Schemas, Params>;

/**
 * What a schema is checked against when it cannot take what its part of the request holds:
 * the compiler then says "Property '~sluice: schema mismatch' is missing", with this message.
 */
export interface SchemaMismatch<Message extends string> {
  readonly "~sluice: schema mismatch": Message;
}

/**
 * The head schemas that could never pass, each as a SchemaMismatch (the others add nothing):
 * a `params` schema whose input does not take the path's params (`{ id: string }` for
 * `/users/:id`), a `query` or `headers` schema with a field no string (nor list of strings)
 * fits, and a `headers` schema naming a header in capitals (Node lower-cases them). Schemas
 * that coerce or transform strings (`z.coerce.number()`, `v.pipe(v.string(), ...)`) pass.
 */
export type FittingHeadSchemas<Schemas, Params extends AnyParams> = ParamsFit<Schemas, Params> &
  PartFit<
    Schemas,
    "query",
    "query: each field's input must accept a string or a list of strings (the query is text; coerce or transform it)"
  > &
  PartFit<
    Schemas,
    "headers",
    "headers: each field's input must accept a string or a list of strings (headers are text; coerce or transform them)"
  > &
  LowerCaseHeaders<Schemas>;

type InputOf<Schemas, Key extends keyof RouteSchemas> = Key extends keyof Schemas
  ? Schemas[Key] extends StandardSchemaV1
    ? InferInput<Schemas[Key]>
    : unknown
  : unknown;

type ParamsFit<Schemas, Params extends AnyParams> = "params" extends keyof Schemas
  ? string extends keyof Params
    ? unknown // a path not known statically: its params cannot be checked
    : [Params] extends [InputOf<Schemas, "params">]
      ? unknown
      : {
          readonly params: SchemaMismatch<"params: the schema's input must accept the path's params, each a string">;
        }
  : unknown;

type PartFit<
  Schemas,
  Key extends "query" | "headers",
  Message extends string,
> = Key extends keyof Schemas
  ? TakesTextFields<InputOf<Schemas, Key>> extends true
    ? unknown
    : { readonly [K in Key]: SchemaMismatch<Message> }
  : unknown;

/** True when a record of strings and lists of strings could pass: every field takes one. */
type TakesTextFields<Input> = unknown extends Input
  ? true
  : [Input] extends [object]
    ? [Input] extends [readonly unknown[]]
      ? false
      : false extends { [K in keyof Input]-?: TakesText<Input[K]> }[keyof Input]
        ? false
        : true
    : false;

type TakesText<Field> = unknown extends Field
  ? true
  : [Extract<Field, string | readonly string[]>] extends [never]
    ? false
    : true;

type LowerCaseHeaders<Schemas> = "headers" extends keyof Schemas
  ? false extends { [K in keyof InputOf<Schemas, "headers">]-?: IsLowerCase<K> }[keyof InputOf<
      Schemas,
      "headers"
    >]
    ? {
        readonly headers: SchemaMismatch<"headers: name each header in lower case, as Node gives them">;
      }
    : unknown
  : unknown;

type IsLowerCase<Key> = Key extends string
  ? string extends Key
    ? true
    : Key extends Lowercase<Key>
      ? true
      : false
  : true;

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
 * The socket of a `websocket()` route that declared a `message` schema: its loop,
 * `receive()` and `receiveJson()` yield `In` (the schema's output, parsed and validated),
 * and `send()` takes `Out`: the `send` schema's input when the route declared one (always
 * sent as JSON text), anything otherwise.
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
  /** As `receive()`: the message schema parses and validates. */
  receiveJson(): Promise<In | undefined>;
  [Symbol.asyncIterator](): AsyncIterator<In>;
};

/**
 * The socket of a `websocket()` route that declared a `send` schema and no `message`:
 * `send()` takes `Out`, the schema's input (always sent as JSON text); what it reads is
 * untyped, strings and bytes, as on a route without schemas.
 */
export type SendSchemaWebSocket<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
  Out = unknown,
> = Omit<TypedWebSocket<Params, State>, "send" | "sendJson"> & {
  send(value: Out): Promise<void>;
  sendJson(value: Out): Promise<void>;
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

/** The handler of a `websocket()` route that declared a `send` schema and no `message`. */
export type SendSchemaWebSocketHandler<
  Params extends AnyParams = AnyParams,
  State extends object = AnyState,
  Out = unknown,
> = (
  socket: SendSchemaWebSocket<Params, State, Out>,
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
