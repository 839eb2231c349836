import type { Contract } from "../protocol/contract.js";
import type { ContractRealtimeOptions, RealtimeOptions } from "../realtime/realtime-options.js";
import type {
  PlainSseOptions,
  SseEventSchemas,
  SseSchemaOptions,
} from "../sse/sse-event-schemas.js";
import type { SseOptions } from "../sse/sse-options.js";
import type { SseHandler } from "../sse/sse-route.js";
import type { InferInput, InferOutput, StandardSchemaV1 } from "../util/standard-schema.js";
import type { WebSocketHandler } from "../websocket/websocket-gateway.js";
import type {
  PlainWebSocketOptions,
  WebSocketRouteOptions,
  WebSocketSchemaOptions,
  WebSocketSendSchemaOptions,
} from "../websocket/websocket-schema-options.js";
import type { Handler as UntypedHandler } from "./route-table.js";
import type {
  Handler,
  KnownSchemas,
  RequestState,
  RouteParams,
  RouteSchemas,
  SchemaWebSocket,
  SchemaWebSocketHandler,
  SendSchemaWebSocketHandler,
  SseRouteHandler,
  SseSchemaRouteHandler,
  ValidatedHandler,
  WebSocketRouteHandler,
} from "./route-types.js";
import type { WithContractTopics } from "./topics-retype.js";

/** Any handler, whatever its request's types: what the overloads' implementations take. */
type AnyHandler = (...args: never[]) => unknown;

/**
 * The route methods an App and its groups share: each takes a path (relative to `Prefix`, ""
 * on the app) and a handler typed from it, and hands both to `register*`, which the App
 * implements and a group forwards to the App with its prefix.
 */
export abstract class RouteMethods<Prefix extends string, State extends object> {
  get<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  /**
   * A route with schemas (zod, valibot, arktype: any Standard Schema). After the middleware,
   * `params`, `query` and `headers` are validated, then the `body` (JSON, `+json` or a form;
   * none is `undefined`; another media type is a 415); a refusal answers 400
   * `application/problem+json` listing each issue's part, path and message, and the handler
   * never runs. The handler gets the schemas' outputs (coerced, defaulted) on `req.body`,
   * `req.query`, `req.params` and `req.headers`, and must return the `response` schema's
   * input. That result is checked while the App's `validateOutput` is on (by default, unless
   * NODE_ENV is "production", where the compiler's check is trusted rather than paying a
   * validation per response): a failure is the app's bug, a 500, logged. The same overload
   * exists on every method, on groups and on `route()`.
   *
   * Middleware sees the same request: after `await next()`, `req.query` is the query schema's
   * output (a record, not URLSearchParams), so middleware that needs the raw query reads it
   * before calling `next()` (or parses `req.url`); `req.headers` keeps every header, the
   * declared ones as the schema's output. A schema that throws is a 500, logged once. zod 4
   * runs an async refinement twice on a schema's first use, and if it throws there the
   * rejection escapes (colinhacks/zod#6610): catch inside async zod refinements and return
   * false (sluice runs such a schema with `safeParseAsync` after its first use).
   *
   * ```ts
   * app.post(
   *   "/orders/:shop",
   *   { body: z.object({ item: z.string(), quantity: z.coerce.number() }), response: Order },
   *   async (req) => createOrder(req.params.shop, req.body), // req.body: { item; quantity }
   * );
   * ```
   */
  get<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  get(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("GET", path, schemasOrHandler, handler);
  }
  post<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  post<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  post(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("POST", path, schemasOrHandler, handler);
  }
  put<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  put<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  put(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("PUT", path, schemasOrHandler, handler);
  }
  patch<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  patch<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  patch(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("PATCH", path, schemasOrHandler, handler);
  }
  delete<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  delete<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  delete(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("DELETE", path, schemasOrHandler, handler);
  }
  head<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  head<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  head(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("HEAD", path, schemasOrHandler, handler);
  }
  options<Path extends string>(
    path: Path,
    handler: Handler<RouteParams<Prefix, Path>, State>,
  ): this;
  options<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  options(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("OPTIONS", path, schemasOrHandler, handler);
  }
  /** Any method not registered on the same path by name. */
  all<Path extends string>(path: Path, handler: Handler<RouteParams<Prefix, Path>, State>): this;
  all<Path extends string, Schemas extends RouteSchemas>(
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
  ): this;
  all(path: string, schemasOrHandler: RouteSchemas | AnyHandler, handler?: AnyHandler): this {
    return this.#add("*", path, schemasOrHandler, handler);
  }

  route<Path extends string>(
    method: string,
    path: Path,
    handler: Handler<RouteParams<Prefix, Path>, State>,
    name?: string,
  ): this;
  route<Path extends string, Schemas extends RouteSchemas>(
    method: string,
    path: Path,
    schemas: KnownSchemas<Schemas, RouteParams<Prefix, Path>>,
    handler: ValidatedHandler<RouteParams<Prefix, Path>, State, Schemas>,
    name?: string,
  ): this;
  route(
    method: string,
    path: string,
    schemasOrHandler: RouteSchemas | AnyHandler,
    handlerOrName?: AnyHandler | string,
    maybeName?: string,
  ): this {
    if (typeof schemasOrHandler === "function" || typeof handlerOrName !== "function") {
      return this.#add(method, path, schemasOrHandler, undefined, handlerOrName as string);
    }
    return this.#add(method, path, schemasOrHandler, handlerOrName, maybeName);
  }

  /**
   * A route with or without schemas: the router gives each request its route's params and the
   * App validates what the schemas declare before the handler runs, so the handler's types
   * say what the request holds.
   */
  #add(
    method: string,
    path: string,
    schemasOrHandler: unknown,
    maybeHandler: unknown,
    name?: string,
  ): this {
    if (typeof schemasOrHandler === "function") {
      this.register(method, path, schemasOrHandler as UntypedHandler, name);
    } else {
      this.register(method, path, maybeHandler as UntypedHandler, name, schemasOrHandler);
    }
    return this;
  }

  /**
   * A Server-Sent Events route (GET): the handler returns an (async) iterable whose items
   * become events: an SseEvent as it is, a plain object with `data` and an `event` or `id`
   * (and only SseEvent fields) as that event, any other value as a data-only event. It may also
   * return a response (say 204, which tells EventSource to stop reconnecting) or throw an
   * HttpError before streaming.
   */
  sse<Path extends string>(
    path: Path,
    handler: SseRouteHandler<RouteParams<Prefix, Path>, State>,
  ): this;
  /**
   * An SSE route that declares its events: `events` maps each event name to the schema of
   * its data (`message` for data-only events). What the handler yields is typed by name (an
   * SseEvent, `{ event, data, id? }`, or a `message` event's data alone); with the App's
   * `validateOutput` on, an undeclared name or data its schema refuses ends the stream there
   * (nothing of that event sent) and is logged. The events are in `app.asyncapi()`.
   */
  sse<Path extends string, Events extends SseEventSchemas>(
    path: Path,
    options: SseSchemaOptions<Events>,
    handler: SseSchemaRouteHandler<RouteParams<Prefix, Path>, State, Events>,
  ): this;
  sse<Path extends string>(
    path: Path,
    options: PlainSseOptions,
    handler: SseRouteHandler<RouteParams<Prefix, Path>, State>,
  ): this;
  sse(path: string, optionsOrHandler: SseOptions | AnyHandler, maybeHandler?: AnyHandler): this {
    const [options, handler] =
      typeof optionsOrHandler === "function"
        ? [{}, optionsOrHandler]
        : [optionsOrHandler, maybeHandler];
    this.registerSse(path, options, handler as SseHandler | undefined);
    return this;
  }

  /**
   * A WebSocket route. App middleware runs on the upgrade request first (an HttpError there is
   * an HTTP answer, no upgrade), then the route's origin and subprotocol checks; the handler
   * then has the socket for as long as it runs: its return closes it with 1000, a thrown
   * HttpError with 4000 + its status (403 gives 4403) and its message as the reason, any other
   * throw with 1011.
   */
  websocket<Path extends string>(
    path: Path,
    handler: WebSocketRouteHandler<RouteParams<Prefix, Path>, State>,
  ): this;
  /**
   * A WebSocket route with schemas: each message a client sends is parsed as JSON and
   * validated by `message`, and the handler's loop (and `receive()`) yields the schema's
   * output; one that fails is answered as `onInvalid` says (default "close": 1007 for what is
   * not JSON, 1008 for a schema failure, the first issue as the reason). With `send`,
   * `socket.send(value)` takes the schema's input and sends JSON text, checked when the App's
   * `validateOutput` is on.
   *
   * ```ts
   * app.websocket("/chat", { message: z.object({ text: z.string() }) }, async (socket) => {
   *   for await (const { text } of socket) await socket.send({ echo: text });
   * });
   * ```
   */
  websocket<
    Path extends string,
    Message extends StandardSchemaV1,
    Send extends StandardSchemaV1 | undefined = undefined,
  >(
    path: Path,
    options: WebSocketSchemaOptions<
      Message,
      Send,
      SchemaWebSocket<RouteParams<Prefix, Path>, State, InferOutput<Message>, InferInput<Send>>
    >,
    handler: SchemaWebSocketHandler<
      RouteParams<Prefix, Path>,
      State,
      InferOutput<Message>,
      InferInput<Send>
    >,
  ): this;
  /**
   * A WebSocket route with a `send` schema only: `socket.send(value)` takes the schema's
   * input and sends JSON text, checked when the App's `validateOutput` is on; the messages
   * the handler reads are strings and bytes, as on a route without schemas.
   */
  websocket<Path extends string, Send extends StandardSchemaV1>(
    path: Path,
    options: WebSocketSendSchemaOptions<Send>,
    handler: SendSchemaWebSocketHandler<RouteParams<Prefix, Path>, State, InferInput<Send>>,
  ): this;
  websocket<Path extends string>(
    path: Path,
    options: PlainWebSocketOptions,
    handler: WebSocketRouteHandler<RouteParams<Prefix, Path>, State>,
  ): this;
  websocket(
    path: string,
    optionsOrHandler: WebSocketRouteOptions | AnyHandler,
    maybeHandler?: AnyHandler,
  ): this {
    const [options, handler] =
      typeof optionsOrHandler === "function"
        ? [{}, optionsOrHandler]
        : [optionsOrHandler, maybeHandler];
    this.registerWebSocket(path, options, handler as WebSocketHandler | undefined);
    return this;
  }

  /**
   * A real-time endpoint (docs/protocol.md): on `path`, a WebSocket speaking the `sluice.v1`
   * subprotocol (subscribe with resume or replay, unsubscribe, publish, call; one reply per
   * request) and, on `GET path?topic=a&topic=b`, an SSE stream of those topics for
   * receive-only clients. App middleware (auth, CORS) runs before both; a refusal there (an
   * HttpError 4xx) completes the WebSocket handshake and closes with 4000 + its status. What
   * clients may do is denied unless `subscribe`, `publish` and `methods` allow it.
   *
   * With a `contract` (`defineContract()`), its topics' schemas validate every publish (the
   * endpoint's get an `invalid` reply listing the issues), each call's params are validated
   * before its method runs (typed from the contract), and `methods` must implement exactly
   * the contract's methods. A contract grants no access: list its topics in `subscribe` and
   * `publish` too. Clients may publish only to the contract's topics (when it has some), and
   * a `publish` function runs after the topic's schema, on its output. On the App, the call
   * returns the App typed with the contract's topics, as `app.topic()` does: chain it (or
   * keep what it returns) for `app.publish()` and `app.subscribe()` to be typed by them.
   *
   * ```ts
   * app.use(bearerAuth<User>({ subprotocol: "bearer", verify }));
   * app.realtime("/rt", {
   *   subscribe: ["chat:*", "dashboard"],
   *   publish: (topic, data, ctx) => topic.startsWith("chat:") && ctx.request.state.auth.canChat,
   *   methods: { whoami: (_params, ctx) => ctx.request.state.auth.name },
   * });
   * ```
   */
  realtime<Path extends string, C extends Contract>(
    path: Path,
    options: ContractRealtimeOptions<C, RequestState<State>>,
  ): WithContractTopics<this, C>;
  realtime<Path extends string>(
    path: Path,
    options: RealtimeOptions<RequestState<State>> & { readonly contract?: undefined },
  ): this;
  realtime(path: string, options: unknown): unknown {
    this.registerRealtime(path, options);
    return this;
  }

  /**
   * @internal adds an HTTP route (`path` relative to the prefix); `schemas` (any value a user
   * passed) are still to be checked.
   */
  protected abstract register(
    method: string,
    path: string,
    handler: UntypedHandler,
    name?: string,
    schemas?: unknown,
  ): void;
  /** @internal adds an SSE route; the handler is still to be checked. */
  protected abstract registerSse(
    path: string,
    options: SseOptions | undefined,
    handler: SseHandler | undefined,
  ): void;
  /** @internal adds a real-time endpoint; the options are still to be checked. */
  protected abstract registerRealtime(path: string, options: unknown): void;
  /** @internal adds a WebSocket route; the handler is still to be checked. */
  protected abstract registerWebSocket(
    path: string,
    options: WebSocketRouteOptions | undefined,
    handler: WebSocketHandler | undefined,
  ): void;
}
