import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type {
  Http2SecureServer,
  Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
} from "node:http2";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { type AsyncApiDocument, asyncApiDocument } from "../api-docs/asyncapi.js";
import { ApiCatalog } from "../api-docs/catalog.js";
import {
  type ApiDocumentOptions,
  type ApiInfo,
  checkDocumentArguments,
} from "../api-docs/document-options.js";
import { type OpenApiDocument, openApiDocument } from "../api-docs/openapi.js";
import type { Middleware } from "../http/middleware-chain.js";
import type { OpenStreamCounts, RequestContext, SluiceRequest } from "../http/request.js";
import { requestIdSource } from "../http/request-id.js";
import { realtimeRoutes } from "../realtime/realtime-routes.js";
import { ConnectionCaps } from "../server/connection-caps.js";
import { checkSseEvents } from "../sse/sse-event-schemas.js";
import type { SseOptions } from "../sse/sse-options.js";
import { type SseHandler, sseRouteHandler } from "../sse/sse-route.js";
import type { PresenceMember } from "../topics/broker-presence.js";
import { checkBroker } from "../topics/check-broker.js";
import { memoryBroker } from "../topics/memory-broker.js";
import type { TopicPresenceEvent } from "../topics/presence-event.js";
import type { TopicMessage } from "../topics/topic-message.js";
import type { TopicOptions } from "../topics/topic-schemas.js";
import type {
  TopicEvent,
  TopicResetEvent,
  TopicSubscription,
} from "../topics/topic-subscription.js";
import type {
  NoTopics,
  TopicData,
  TopicPublishData,
  TopicSchemaMap,
  WithTopic,
} from "../topics/topic-types.js";
import {
  type HistoryOptions,
  type PublishOptions,
  type SubscribeOptions,
  Topics,
} from "../topics/topics.js";
import { createLogger, logSafely } from "../util/logger.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import { TrafficCounters } from "../util/traffic-counters.js";
import { WebSocketGateway, type WebSocketHandler } from "../websocket/websocket-gateway.js";
import type { WebSocketRouteOptions } from "../websocket/websocket-schema-options.js";
import { type AppMetrics, appMetrics } from "./app-metrics.js";
import { type AppOptions, appSettings, type CloseOptions, validatesOutput } from "./app-options.js";
import { warnExactScopesWithRoutesBeneath } from "./exact-scope-warning.js";
import { type CloseHook, LifecycleHooks, type ListenHook } from "./lifecycle-hooks.js";
import type { AppServer, ListeningServer, ListenOptions } from "./listen.js";
import { MiddlewareStack } from "./middleware-stack.js";
import { RequestDispatch } from "./request-dispatch.js";
import { buildGroup, checkPrefix, type RouteGroup, type RouteRegistry } from "./route-group.js";
import { RouteMethods } from "./route-methods.js";
import { checkRouteSchemas } from "./route-schemas.js";
import { type Handler, type RouteDefinition, RouteTable } from "./route-table.js";
import type { RequestState, WithState } from "./route-types.js";
import { ServerLifecycle } from "./server-lifecycle.js";
import { StreamAdmission } from "./stream-admission.js";
import type { TopicsRetype } from "./topics-retype.js";
import { validatedHandler } from "./validated-route.js";
import { WebSocketUpgrade } from "./websocket-upgrade.js";

export type { AppOptions, CloseOptions } from "./app-options.js";
export type { CloseHook, ListenHook } from "./lifecycle-hooks.js";
export type { RouteGroup } from "./route-group.js";
export type { RouteDefinition } from "./route-table.js";
export type {
  Handler,
  RouteResult,
  RouteSchemas,
  SseRouteHandler,
  TypedWebSocket,
  ValidatedHandler,
  ValidatedRequest,
  WebSocketRouteHandler,
} from "./route-types.js";

/** The App with topics added (`this["added"]`): see topics-retype.ts. */
export interface AppTopicsRetype<State extends object, TopicMap extends TopicSchemaMap>
  extends TopicsRetype {
  readonly retyped: App<State, TopicMap & Extract<this["added"], TopicSchemaMap>>;
}

/** Long-lived connections open right now. */
export interface OpenConnections {
  readonly websocket: number;
  readonly sse: number;
}

/**
 * A sluice application: its routes, middleware and topics. The work is done by its parts:
 * RequestDispatch answers requests, WebSocketUpgrade takes upgrades, StreamAdmission keeps
 * streams under the connection caps, ServerLifecycle runs the server from listen to close.
 *
 * `State` types `req.state` in every handler: `new App<{ auth: User }>()`. Typed middleware
 * adds to it when chained: `new App().use(bearerAuth<User>(...)).get(...)`. `TopicMap` types
 * the data of the topics declared with `app.topic()`, chained the same way.
 */
export class App<
  State extends object = Record<string, unknown>,
  TopicMap extends TopicSchemaMap = NoTopics,
> extends RouteMethods<"", State> {
  readonly logger: Logger;
  /**
   * A request listener, to mount the app on a server of your own: node:http's, node:https's
   * or node:http2's (its compatibility API).
   */
  readonly handle: (
    raw: IncomingMessage | Http2ServerRequest,
    response: ServerResponse | Http2ServerResponse,
  ) => void;
  /**
   * A node:http 'upgrade' listener, to mount the app's WebSocket routes on a server of your
   * own (next to `app.handle` for its requests); `listen()` attaches it by itself.
   */
  readonly handleUpgrade: (raw: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #routes = new RouteTable();
  /**
   * Types only (no such property at run time): how `realtime(path, { contract })` returns
   * this App typed with the contract's topics (see topics-retype.ts).
   */
  declare readonly "~topicsRetype"?: AppTopicsRetype<State, TopicMap>;
  /** Every route, topic and endpoint declared, with its schemas: what the API documents show. */
  readonly #catalog = new ApiCatalog();
  readonly #middleware = new MiddlewareStack();
  readonly #hooks = new LifecycleHooks();
  #startChecked = false;
  readonly #openStreams: OpenStreamCounts = { sse: 0 };
  /** What app.metrics() reports, counted where it happens. */
  readonly #counters = new TrafficCounters();
  readonly #topics: Topics;
  readonly #gateway: WebSocketGateway;
  /** Undefined when the options set no connection caps. */
  readonly #admission: StreamAdmission | undefined;
  readonly #lifecycle: ServerLifecycle;
  /** Whether what the app sends is checked against its schemas (AppOptions.validateOutput). */
  readonly #validateOutput: boolean;

  constructor(options: AppOptions = {}) {
    super();
    this.#validateOutput = validatesOutput(options);
    const logger = createLogger(options.logger);
    this.logger = logger;
    const caps = ConnectionCaps.from(options);
    this.#admission = caps && new StreamAdmission(caps);
    const settings = appSettings(options);
    const idHeader = options.requestIdHeader ?? "x-request-id";
    const requestContext: RequestContext = {
      logger,
      bodyLimit: settings.bodyLimit,
      requestIdHeader: idHeader === false ? "x-request-id" : idHeader.toLowerCase(),
      openStreams: this.#openStreams,
      sendTimeout: settings.sendTimeout,
      counters: this.#counters,
    };
    this.#topics = new Topics(
      checkBroker(options.broker) ?? memoryBroker(),
      logger,
      this.#counters,
    );
    this.#gateway = new WebSocketGateway(logger, this.#topics, this.#validateOutput);
    const requestId = requestIdSource(idHeader, options.generateRequestId, (error) =>
      logSafely(logger, "error", { err: error }, "generateRequestId failed; used a built-in id"),
    );
    const dispatch = new RequestDispatch({
      routes: this.#routes,
      middleware: this.#middleware,
      gateway: this.#gateway,
      admission: this.#admission,
      requestId,
      requestContext,
      maxHeadersCount: settings.maxHeadersCount,
    });
    const upgrade = new WebSocketUpgrade(dispatch, this.#gateway, this.#admission, logger);
    // The parts' own bound listeners: no extra call per request.
    this.handle = dispatch.handle;
    this.handleUpgrade = upgrade.handle;
    this.#lifecycle = new ServerLifecycle({
      settings,
      logger,
      dispatch,
      handleUpgrade: upgrade.handle,
      handleConnect: upgrade.handleConnect,
      gateway: this.#gateway,
      topics: this.#topics,
      hooks: this.#hooks,
    });
  }

  /**
   * Adds middleware. `use(middleware)` runs it before every handler (and for 404/405 too);
   * `use(path, middleware)` only for requests whose path matches `path`, a route pattern
   * (`/admin/*`: `/admin` itself, `/admin/` and everything under it; `/orgs/:org/*`;
   * `/health`), matched on the same canonical path the router routes. Global and scoped
   * middleware run in the order they were added, before HTTP, SSE and WebSocket routes.
   *
   * Chained, typed middleware types `req.state` for the routes that follow:
   * `app.use(bearerAuth<User>(...)).get("/me", (req) => req.state.auth)` (`User`).
   */
  use<Adds extends object>(
    middleware: Middleware<Adds, RequestState<State>>,
  ): [keyof Adds] extends [never] ? this : App<WithState<State, Adds>, TopicMap>;
  /** Middleware for the requests whose canonical path matches `path` (`/admin/*`) only. */
  use(path: string, middleware: Middleware<object, RequestState<State>>): this;
  use(pathOrMiddleware: unknown, middleware?: unknown): this {
    if (middleware === undefined && typeof pathOrMiddleware !== "string") {
      this.#middleware.add(checkMiddleware(pathOrMiddleware));
    } else {
      this.#middleware.add(
        checkMiddleware(middleware, pathOrMiddleware),
        pathOrMiddleware as string,
      );
    }
    return this;
  }

  /**
   * Routes under a prefix, with middleware of their own: `build` gets a RouteGroup whose
   * route methods take paths relative to `prefix` and whose `use(middleware)` guards the
   * prefix and everything under it, nothing else. Groups nest.
   *
   * ```ts
   * app.group("/admin", (admin) => {
   *   admin.use(bearerAuth({ verify }));
   *   admin.get("/users", (req) => listUsers());          // GET /admin/users
   *   admin.sse("/events", (req) => app.subscribe("audit")); // GET /admin/events
   * });
   * ```
   */
  group<Prefix extends string>(
    prefix: Prefix,
    build: (group: RouteGroup<Prefix, State>) => void,
  ): this {
    buildGroup(checkPrefix(prefix), build, this.#registry);
    return this;
  }

  /**
   * Runs `hook` once `listen()` has the server listening, with what `listen()` resolves to
   * (start what needs the address here). Hooks run in order; one that throws or rejects
   * makes `listen()` reject with its error, after the app is closed. Not run for a server
   * of your own (`app.handle`).
   */
  onListen(hook: ListenHook): this {
    this.#hooks.addListen(hook);
    return this;
  }

  /**
   * Runs `hook` during `app.close()`, after requests, streams and WebSockets have ended (or
   * the timeout cut them) and before the broker closes: stop your own timers and publishers
   * here, close your pools. Hooks run in reverse order of registration, one at a time; one
   * that throws or rejects is logged and the close goes on; the close's timeout bounds the
   * wait for them.
   */
  onClose(hook: CloseHook): this {
    this.#hooks.addClose(hook);
    return this;
  }

  /** Open WebSocket connections and SSE streams. */
  get connections(): OpenConnections {
    return { websocket: this.#gateway.size, sse: this.#openStreams.sse };
  }

  /**
   * Local topic subscribers right now, across topics: SSE subscriptions and WebSockets'
   * `subscribe()`s in this process. For metrics, and to check that nothing leaks.
   */
  get topicSubscribers(): number {
    return this.#topics.hub.sinkCount;
  }

  /**
   * A snapshot of the app's metrics: connections open now, messages published and delivered,
   * slow consumers cut off, broker reconnections, and the process's memory and CPU (see
   * AppMetrics). Plain numbers, JSON-serialisable; cheap to call (the counters are kept as
   * the app serves, one increment each).
   *
   * ```ts
   * app.get("/stats", () => app.metrics());
   * ```
   */
  metrics(): AppMetrics {
    return appMetrics({
      counters: this.#counters,
      broker: this.#topics.broker,
      connections: () => this.connections,
      topicSubscribers: () => this.topicSubscribers,
    });
  }

  /** @internal */
  protected register(
    method: string,
    path: string,
    handler: Handler,
    name?: string,
    schemas?: unknown,
  ): void {
    const route = `${method.toUpperCase()} ${path}`;
    const declared = schemas === undefined ? {} : checkRouteSchemas(route, schemas);
    const validating = schemas !== undefined && typeof handler === "function";
    this.#routes.add(
      method,
      path,
      validating ? validatedHandler(handler, declared, this.#validateOutput) : handler,
      name,
    );
    this.#catalog.add({
      kind: "http",
      method: method.toUpperCase(),
      path,
      name,
      schemas: declared,
    });
  }

  /** @internal */
  protected registerSse(
    path: string,
    options: SseOptions | undefined,
    handler: SseHandler | undefined,
  ): void {
    if (typeof handler !== "function")
      throw new TypeError(`SSE route ${path} needs a handler function`);
    const events = checkSseEvents(path, (options as { events?: unknown } | undefined)?.events);
    const checked = this.#validateOutput ? events : undefined;
    const routeHandler = sseRouteHandler(handler, options as SseOptions, checked);
    this.#addStreamRoute(path, routeHandler);
    this.#catalog.add({ kind: "sse", path, events });
  }

  /** A GET route whose answer is a long-lived stream, under the connection caps. */
  #addStreamRoute(path: string, routeHandler: Handler): void {
    const admission = this.#admission;
    // The cap is checked before the handler runs: a refused client starts nothing.
    const capped = admission
      ? (request: SluiceRequest) => {
          admission.takeStreamSlot(request);
          return routeHandler(request);
        }
      : routeHandler;
    this.#routes.add("GET", path, capped);
  }

  /** @internal */
  protected registerWebSocket(
    path: string,
    options: WebSocketRouteOptions | undefined,
    handler: WebSocketHandler | undefined,
  ): void {
    this.#addWebSocketRoute(path, options, handler);
  }

  /** @internal */
  protected registerRealtime(path: string, options: unknown): void {
    const routes = realtimeRoutes(path, options, this.#topics, this.logger, this.#validateOutput);
    const { contract, subscribe, publish, methods, newTopics } = routes.described;
    try {
      this.#gateway.add(path, routes.webSocket.options, routes.webSocket.handler, undefined, true);
      this.#lifecycle.webSocketRouteAdded();
      // Its SSE side is part of the endpoint: listed as the realtime entry, not as an sse route.
      this.#addStreamRoute(path, sseRouteHandler(routes.sse.handler, routes.sse.options));
    } catch (error) {
      // A refused endpoint (its path taken) declares nothing: its contract serves no one.
      this.#topics.schemas.undeclare(newTopics.map(([pattern]) => pattern));
      throw error;
    }
    for (const [pattern, schema] of newTopics)
      this.#catalog.add({ kind: "topic", pattern, schema });
    this.#catalog.add({ kind: "realtime", path, contract, subscribe, publish, methods });
  }

  /** What the app's groups add to: full paths, checked as the app's own routes are. */
  readonly #registry: RouteRegistry = {
    route: (method, path, handler, name, schemas) =>
      this.register(method, path, handler, name, schemas),
    sse: (path, options, handler) => this.registerSse(path, options, handler),
    websocket: (path, options, handler) => this.registerWebSocket(path, options, handler),
    use: (pattern, middleware) => this.use(pattern, middleware as Middleware),
    realtime: (path, options) => this.registerRealtime(path, options),
  };

  /** A route given as data, `{ method, path, handler_name, is_async }` (method "WS": WebSocket). */
  addRoute(definition: RouteDefinition, handler: Handler | WebSocketHandler): this {
    if (definition.method.toUpperCase() === "WS") {
      return this.#addWebSocketRoute(
        definition.path,
        {},
        handler as WebSocketHandler,
        definition.handler_name,
      );
    }
    return this.route(
      definition.method,
      definition.path,
      handler as Handler,
      definition.handler_name,
    );
  }

  #addWebSocketRoute(
    path: string,
    options: WebSocketRouteOptions | undefined,
    handler: WebSocketHandler | undefined,
    name?: string,
  ): this {
    this.#gateway.add(path, options ?? {}, handler as WebSocketHandler, name);
    this.#lifecycle.webSocketRouteAdded();
    this.#catalog.add({
      kind: "websocket",
      path,
      message: options?.message,
      send: options?.send,
      protocols: options?.protocols ?? [],
    });
    return this;
  }

  /**
   * Starts serving: HTTP/1.1 by default, HTTPS with `tls: { key, cert }`, HTTP/2 over TLS
   * (and HTTP/1.1 on the same port) with `http2: true` and `tls`, h2c with
   * `http2: "cleartext"`. Options that do not fit together reject with a TypeError.
   */
  listen(options?: ListenOptions & { http2?: false }): Promise<ListeningServer<Server>>;
  listen(options: ListenOptions & { http2: true }): Promise<ListeningServer<Http2SecureServer>>;
  listen(options: ListenOptions & { http2: "cleartext" }): Promise<ListeningServer<Http2Server>>;
  listen(options: ListenOptions): Promise<ListeningServer<AppServer>>;
  listen(options: ListenOptions = {}): Promise<ListeningServer> {
    if (!this.#startChecked) this.#warnAboutMisconfiguration();
    return this.#lifecycle.listen(options);
  }

  /** What only the whole app shows, middleware and routes together: checked once, at start. */
  #warnAboutMisconfiguration(): void {
    this.#startChecked = true;
    this.#gateway.checkAuthSubprotocols((path) => this.#middleware.forPath(path));
    warnExactScopesWithRoutesBeneath(
      this.#middleware.exactScopes,
      [...this.#routes.paths, ...this.#gateway.paths],
      this.logger,
    );
  }

  /**
   * The OpenAPI 3.1 document of the app's HTTP routes, written from the schemas they declare
   * (their JSON Schema 2020-12): path, query and header parameters, the JSON body, the 200
   * response, a 400 `application/problem+json` on routes that validate; SSE routes as GETs
   * answering `text/event-stream`. A schema whose library gives no JSON Schema (and that the
   * `jsonSchema` option does not convert, plain valibot say) is shown as `{}` with a
   * description naming the library, as is one whose conversion throws (with its message):
   * nothing is logged, and this never throws for a schema. Written anew at each call, from
   * the routes declared so far. Throws a TypeError when `info` lacks a title or version.
   *
   * ```ts
   * app.get("/openapi.json", () => app.openapi({ title: "Chat", version: "1.0.0" }));
   * ```
   */
  openapi(info: ApiInfo, options?: ApiDocumentOptions): OpenApiDocument {
    checkDocumentArguments("openapi", info, options);
    return openApiDocument(this.#catalog, info, options);
  }

  /**
   * The AsyncAPI 3.0 document of the app's WebSocket routes, SSE routes, topics and real-time
   * endpoints (their contracts' topics and methods), from the schemas they declare (JSON
   * Schema draft-07). Operations say what the app does: `receive` what clients send it,
   * `send` what it sends them. Same `info`, options and fallbacks as `openapi()`.
   */
  asyncapi(info: ApiInfo, options?: ApiDocumentOptions): AsyncApiDocument {
    checkDocumentArguments("asyncapi", info, options);
    return asyncApiDocument(this.#catalog, info, options);
  }

  /**
   * The node:http (or node:https) server created by `listen()`, once listening; undefined
   * when it listens over HTTP/2 (`http2`): the `server` of what `listen()` resolved to is
   * then node:http2's.
   */
  get server(): Server | undefined {
    return this.#lifecycle.server;
  }

  /**
   * Declares the data of a topic name (`"dashboard"`) or of every topic a pattern matches
   * (`"chat:*"`: `*` is one whole segment between `:`s) with a Standard Schema (zod, valibot,
   * arktype...). `app.publish()` and real-time publishes to it are validated before anything
   * is stored: a refusal rejects with a ValidationError (target `topic "chat:1"`) and stores
   * and delivers nothing; the schema's output (transforms, defaults) is what is stored. A
   * topic's own name wins over patterns, then patterns match in the order declared. Declaring
   * a name or pattern again with another schema is a TypeError. Topics never declared take
   * any JSON, as before.
   *
   * Returns the app typed with the topic: `publish()` then takes the schema's input for it
   * and `subscribe()` yields its output as JSON gives it back (`Jsonified`: a `Date` output
   * arrives as a string; an output with no JSON form, undefined or a BigInt, rejects the
   * publish with a TypeError). A pattern's type (`` `chat:${string}` ``) also covers names
   * its `*` does not match (`chat:a:b`, `chat:`): a publish to one that nothing declares is
   * refused with a TypeError, so nothing unvalidated is stored under it. A name known only
   * as `string` adds no type.
   *
   * ```ts
   * const app = new App().topic("chat:*", { schema: z.object({ text: z.string().max(500) }) });
   * await app.publish("chat:lobby", { text: "hi" });   // { txt: "hi" } would not compile
   * app.sse("/chat/:room", (req) => app.subscribe(`chat:${req.params.room}`));
   * ```
   */
  topic<Pattern extends string, S extends StandardSchemaV1>(
    nameOrPattern: Pattern,
    options: TopicOptions<S>,
  ): App<State, WithTopic<TopicMap, Pattern, S>> {
    const where = `app.topic(${JSON.stringify(nameOrPattern)})`;
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError(`${where}: options must be an object { schema }`);
    }
    for (const key of Object.keys(options)) {
      if (key !== "schema")
        throw new TypeError(`${where}: unknown option "${key}" (expected schema)`);
    }
    if (this.#topics.schemas.declare(where, nameOrPattern, options.schema)) {
      this.#catalog.add({ kind: "topic", pattern: nameOrPattern, schema: options.schema });
    }
    return this as unknown as App<State, WithTopic<TopicMap, Pattern, S>>;
  }

  /**
   * Publishes `data` (anything JSON can encode) to a topic: it is stored in the topic's log
   * and delivered to every subscriber, SSE and WebSocket, in every process sharing the
   * broker. Resolves the message's id; rejects if the broker could not store it. A topic
   * declared with `app.topic()` (or a real-time contract) validates `data` first: a refusal
   * rejects with a ValidationError and nothing is stored; a schema that throws rejects with
   * a SchemaError, one whose output has no JSON form with a TypeError.
   */
  publish<T extends string>(
    topic: T,
    data: TopicPublishData<TopicMap, T>,
    options?: PublishOptions,
  ): Promise<string> {
    return this.#topics.publish(topic, data, options);
  }

  /**
   * A topic's messages as SseEvents (return it from an `app.sse()` handler): with
   * `lastEventId`, every retained message after it first, then live ones, with none missed
   * or repeated in between. When that id is older than the retained history (or unknown),
   * the first event is `event: reset` (data `{ reason, lastEventId }`, id the newest
   * message's): reload your state, live messages follow. Its events are typed so:
   * `isTopicReset(event)` tells the reset from the topic's data.
   */
  subscribe<T extends string>(
    topic: T,
    options: SubscribeOptions & { joinLeave: true },
  ): TopicSubscription<
    TopicData<TopicMap, T>,
    TopicEvent<TopicData<TopicMap, T>> | TopicResetEvent | TopicPresenceEvent
  >;
  subscribe<T extends string>(
    topic: T,
    options?: SubscribeOptions & { lastEventId?: undefined },
  ): TopicSubscription<TopicData<TopicMap, T>, TopicEvent<TopicData<TopicMap, T>>>;
  subscribe<T extends string>(
    topic: T,
    options?: SubscribeOptions,
  ): TopicSubscription<TopicData<TopicMap, T>>;
  subscribe(topic: string, options?: SubscribeOptions): TopicSubscription {
    return this.#topics.subscribe(topic, options);
  }

  /**
   * Who is in a topic's presence now, on every instance sharing the broker: one member per
   * connection that subscribed with `presence` (two tabs are two members: group them by
   * your user id in `info`), oldest first. A member whose instance died without leaving is
   * listed until its expiry passes (Redis: `presenceRefresh`, two intervals at most). Rejects
   * on a broker without presence.
   *
   * ```ts
   * const members = await app.presence("room:1"); // [{ clientId, info, since }]
   * ```
   */
  presence(topic: string): Promise<PresenceMember[]> {
    return this.#topics.presence(topic);
  }

  /** Retained messages of a topic, oldest first: after an id, or the newest (limit 100). */
  history(topic: string, options?: HistoryOptions): Promise<TopicMessage[]> {
    return this.#topics.history(topic, options);
  }

  /**
   * Stops accepting connections, aborts every in-flight request's signal (streams' producers
   * run their `finally`), waits for them up to `timeout` ms, then cuts what is left.
   */
  close(options: CloseOptions = {}): Promise<void> {
    return this.#lifecycle.close(options.timeout);
  }
}

function checkMiddleware(middleware: unknown, path?: unknown): Middleware {
  if (typeof middleware === "function") return middleware as Middleware;
  throw new TypeError(
    path === undefined
      ? "app.use() takes a middleware function"
      : `app.use(${JSON.stringify(path)}, middleware) takes a middleware function after the path`,
  );
}
