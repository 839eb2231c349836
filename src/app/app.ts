import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { Middleware } from "../http/middleware-chain.js";
import type { OpenStreamCounts, RequestContext } from "../http/request.js";
import { requestIdSource } from "../http/request-id.js";
import { ConnectionCaps } from "../server/connection-caps.js";
import type { SseOptions } from "../sse/sse-options.js";
import { type SseHandler, sseRouteHandler } from "../sse/sse-route.js";
import { checkBroker } from "../topics/check-broker.js";
import { memoryBroker } from "../topics/memory-broker.js";
import type { TopicMessage } from "../topics/topic-message.js";
import type { TopicSubscription } from "../topics/topic-subscription.js";
import {
  type HistoryOptions,
  type PublishOptions,
  type SubscribeOptions,
  Topics,
} from "../topics/topics.js";
import { createLogger, logSafely } from "../util/logger.js";
import { WebSocketGateway, type WebSocketHandler } from "../websocket/websocket-gateway.js";
import type { WebSocketOptions } from "../websocket/websocket-options.js";
import { type AppOptions, appSettings, type CloseOptions } from "./app-options.js";
import type { ListeningServer, ListenOptions } from "./listen.js";
import { RequestDispatch } from "./request-dispatch.js";
import { type Handler, type RouteDefinition, RouteTable } from "./route-table.js";
import { ServerLifecycle } from "./server-lifecycle.js";
import { StreamAdmission } from "./stream-admission.js";
import { WebSocketUpgrade } from "./websocket-upgrade.js";

export type { AppOptions, CloseOptions } from "./app-options.js";
export type { Handler, RouteDefinition } from "./route-table.js";

/** Long-lived connections open right now. */
export interface OpenConnections {
  readonly websocket: number;
  readonly sse: number;
}

/**
 * A sluice application: its routes, middleware and topics. The work is done by its parts:
 * RequestDispatch answers requests, WebSocketUpgrade takes upgrades, StreamAdmission keeps
 * streams under the connection caps, ServerLifecycle runs the server from listen to close.
 */
export class App {
  readonly logger: Logger;
  /** A node:http request listener, to mount the app on a server of your own. */
  readonly handle: (raw: IncomingMessage, response: ServerResponse) => void;
  /**
   * A node:http 'upgrade' listener, to mount the app's WebSocket routes on a server of your
   * own (next to `app.handle` for its requests); `listen()` attaches it by itself.
   */
  readonly handleUpgrade: (raw: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #routes = new RouteTable();
  readonly #middleware: Middleware[] = [];
  readonly #openStreams: OpenStreamCounts = { sse: 0 };
  readonly #topics: Topics;
  readonly #gateway: WebSocketGateway;
  /** Undefined when the options set no connection caps. */
  readonly #admission: StreamAdmission | undefined;
  readonly #lifecycle: ServerLifecycle;

  constructor(options: AppOptions = {}) {
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
    };
    this.#topics = new Topics(checkBroker(options.broker) ?? memoryBroker(), logger);
    this.#gateway = new WebSocketGateway(logger, this.#topics);
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
      gateway: this.#gateway,
      topics: this.#topics,
    });
  }

  /** Adds middleware that runs, in order, before every handler (and for 404/405 too). */
  use(middleware: Middleware): this {
    if (typeof middleware !== "function")
      throw new TypeError("app.use() takes a middleware function");
    this.#middleware.push(middleware);
    return this;
  }

  get(path: string, handler: Handler): this {
    return this.route("GET", path, handler);
  }
  post(path: string, handler: Handler): this {
    return this.route("POST", path, handler);
  }
  put(path: string, handler: Handler): this {
    return this.route("PUT", path, handler);
  }
  patch(path: string, handler: Handler): this {
    return this.route("PATCH", path, handler);
  }
  delete(path: string, handler: Handler): this {
    return this.route("DELETE", path, handler);
  }
  head(path: string, handler: Handler): this {
    return this.route("HEAD", path, handler);
  }
  options(path: string, handler: Handler): this {
    return this.route("OPTIONS", path, handler);
  }
  /** Any method not registered on the same path by name. */
  all(path: string, handler: Handler): this {
    return this.route("*", path, handler);
  }

  /**
   * A Server-Sent Events route (GET): the handler returns an (async) iterable whose items
   * become events: an SseEvent as it is, any other value as a data-only event. It may also
   * return a response (say 204, which tells EventSource to stop reconnecting) or throw an
   * HttpError before streaming.
   */
  sse(path: string, handler: SseHandler): this;
  sse(path: string, options: SseOptions, handler: SseHandler): this;
  sse(path: string, optionsOrHandler: SseOptions | SseHandler, maybeHandler?: SseHandler): this {
    const [options, handler] =
      typeof optionsOrHandler === "function"
        ? [{}, optionsOrHandler]
        : [optionsOrHandler, maybeHandler];
    if (typeof handler !== "function")
      throw new TypeError(`SSE route ${path} needs a handler function`);
    const routeHandler = sseRouteHandler(handler, options);
    const admission = this.#admission;
    if (!admission) return this.route("GET", path, routeHandler);
    // The cap is checked before the handler runs: a refused client starts nothing.
    return this.route("GET", path, (request) => {
      admission.takeStreamSlot(request);
      return routeHandler(request);
    });
  }

  /**
   * A WebSocket route. App middleware runs on the upgrade request first (an HttpError there is
   * an HTTP answer, no upgrade), then the route's origin and subprotocol checks; the handler
   * then has the socket for as long as it runs: its return closes it with 1000, a throw
   * with 1011.
   */
  websocket(path: string, handler: WebSocketHandler): this;
  websocket(path: string, options: WebSocketOptions, handler: WebSocketHandler): this;
  websocket(
    path: string,
    optionsOrHandler: WebSocketOptions | WebSocketHandler,
    maybeHandler?: WebSocketHandler,
  ): this {
    const [options, handler] =
      typeof optionsOrHandler === "function"
        ? [{}, optionsOrHandler]
        : [optionsOrHandler, maybeHandler];
    return this.#addWebSocketRoute(path, options, handler);
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

  route(method: string, path: string, handler: Handler, name?: string): this {
    this.#routes.add(method, path, handler, name);
    return this;
  }

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
    options: WebSocketOptions | undefined,
    handler: WebSocketHandler | undefined,
    name?: string,
  ): this {
    this.#gateway.add(path, options ?? {}, handler as WebSocketHandler, name);
    this.#lifecycle.webSocketRouteAdded();
    return this;
  }

  listen(options: ListenOptions = {}): Promise<ListeningServer> {
    return this.#lifecycle.listen(options);
  }

  /** The server created by `listen()`, once listening. */
  get server(): Server | undefined {
    return this.#lifecycle.server;
  }

  /**
   * Publishes `data` (anything JSON can encode) to a topic: it is stored in the topic's log
   * and delivered to every subscriber, SSE and WebSocket, in every process sharing the
   * broker. Resolves the message's id; rejects if the broker could not store it.
   */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<string> {
    return this.#topics.publish(topic, data, options);
  }

  /**
   * A topic's messages as SseEvents (return it from an `app.sse()` handler): with
   * `lastEventId`, every retained message after it first, then live ones, with none missed
   * or repeated in between. When that id is older than the retained history (or unknown),
   * the first event is `event: reset` (data `{ reason, lastEventId }`, id the newest
   * message's): reload your state, live messages follow.
   */
  subscribe(topic: string, options?: SubscribeOptions): TopicSubscription {
    return this.#topics.subscribe(topic, options);
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
