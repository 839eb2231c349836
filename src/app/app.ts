import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { declaresBody } from "../http/body.js";
import { watchDisconnect } from "../http/disconnect-watch.js";
import { checkHost } from "../http/host-check.js";
import { HttpError } from "../http/http-error.js";
import { HttpResponse } from "../http/http-response.js";
import { type Middleware, runMiddleware } from "../http/middleware-chain.js";
import { type OpenStreamCounts, type RequestContext, SluiceRequest } from "../http/request.js";
import { type RequestIdSource, requestIdSource } from "../http/request-id.js";
import { type LookupResult, Router } from "../http/router.js";
import { sendError } from "../http/send-error.js";
import { cancelSource, openSource } from "../http/stream-source.js";
import { StreamingResponse } from "../http/streaming-response.js";
import { answerClientError } from "../server/client-error.js";
import {
  ConnectionCaps,
  type ConnectionRefusal,
  type ConnectionSlot,
  isRefusal,
  RETRY_AFTER_SECONDS,
} from "../server/connection-caps.js";
import { ConnectionRegistry } from "../server/connection-registry.js";
import { lingerBeforeClosing } from "../server/lingering-close.js";
import type { SseOptions } from "../sse/sse-options.js";
import { asSseIfEventStream } from "../sse/sse-response.js";
import { type SseHandler, sseRouteHandler } from "../sse/sse-route.js";
import type { Broker } from "../topics/broker.js";
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
import { isPromiseLike } from "../util/is-promise-like.js";
import { createLogger, type LoggerOption, logSafely } from "../util/logger.js";
import { asksForWebSocket, responseOnSocket } from "../websocket/upgrade-socket.js";
import {
  Admission,
  WebSocketGateway,
  type WebSocketHandler,
} from "../websocket/websocket-gateway.js";
import type { WebSocketOptions } from "../websocket/websocket-options.js";
import { type ListeningServer, type ListenOptions, listenOn } from "./listen.js";
import { sendResult } from "./send-result.js";

export type Handler = (request: SluiceRequest) => unknown;

export interface AppOptions {
  /** A pino logger, pino options, or false. Default: pino at LOG_LEVEL or "info". */
  logger?: LoggerOption;
  /** Largest request body `json()`/`text()`/`bytes()` accept, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Time a client has to send its request headers (slowloris guard). Default 10 s. */
  headersTimeout?: number;
  /** Time a client has to send its whole request. Default 60 s. */
  requestTimeout?: number;
  /** Idle time before a keep-alive connection is closed. Default 5 s. */
  keepAliveTimeout?: number;
  /** Largest request head in bytes; larger gets 431. Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * Most header fields a request may carry (repeats count each time); more gets 431 before
   * middleware runs, upgrades included. Default 100, as Apache's LimitRequestFields: browsers
   * send about 20, proxies add a few.
   */
  maxHeadersCount?: number;
  /** Default grace period of `close()`, in ms. Default 10 s. */
  closeTimeout?: number;
  /**
   * How long, in ms, a stream may wait for a client that takes none of its bytes before the
   * connection is cut (as nginx's `send_timeout`): while its socket is full, and after it
   * ended with bytes still queued (an SSE subscriber cut off for falling behind, say). A
   * client that reads, however slowly, is not cut. Default 30 000; 0: never.
   */
  sendTimeout?: number;
  /** Header a request id is read from and echoed in. false: never trust a client id (it is still echoed as x-request-id). */
  requestIdHeader?: string | false;
  /** Makes request ids when the client sent none. */
  generateRequestId?: () => string;
  /**
   * Where topics live: `memoryBroker()` (the default, history 1 000 per topic) for one
   * process, `redisBroker()` from "sluice/redis" for many. `close()` closes it once the
   * last App using it closes.
   */
  broker?: Broker;
  /**
   * Most long-lived connections open at once: SSE streams plus WebSockets, what
   * `app.connections` counts. Plain HTTP requests are not counted: they end by themselves,
   * and Node's own limits bound them (`headersTimeout`, `requestTimeout`, `keepAliveTimeout`,
   * `server.maxConnections`), whereas a stream or socket may stay open for hours. Past the
   * cap a new SSE stream gets 503 with `Retry-After: 5` before it starts, and a new
   * WebSocket is accepted then closed at once with 1013 and a reason (browsers cannot read
   * an HTTP refusal of an upgrade). A place is taken once middleware let the connection
   * through and given back when it ends, however it ends. Default: no limit.
   */
  maxConnections?: number;
  /**
   * Most long-lived connections (as for `maxConnections`) open at once from one client
   * address: the socket's remote address, unless `clientAddress` says otherwise. Behind a
   * proxy or load balancer every client has the proxy's address: set `clientAddress` then.
   * Default: no limit.
   */
  maxConnectionsPerIp?: number;
  /**
   * The client address `maxConnectionsPerIp` counts by; called after middleware. Default: the
   * socket's `remoteAddress`. Behind a proxy you trust, read its header here (the last hop
   * of `x-forwarded-for`, say); a client can forge any header a proxy does not overwrite.
   * One that throws or returns no string falls back to the socket's address.
   */
  clientAddress?: (request: SluiceRequest) => string;
  /**
   * How many leading bits of an IPv6 client address `maxConnectionsPerIp` counts as one
   * client (an integer from 1 to 128): a host is commonly given a whole /64 and can use a new
   * address per connection. An IPv4-mapped address (`::ffff:1.2.3.4`) counts as the IPv4
   * address. Default: 64.
   */
  ipv6Prefix?: number;
}

/** Seed-compatible route description for `addRoute`. */
export interface RouteDefinition {
  method: string;
  path: string;
  handler_name?: string;
  is_async?: boolean;
}

/** Long-lived connections open right now. */
export interface OpenConnections {
  readonly websocket: number;
  readonly sse: number;
}

export interface CloseOptions {
  /** How long in-flight requests and streams get to finish before they are cut, in ms. */
  timeout?: number;
}

interface Route {
  method: string;
  path: string;
  name: string | undefined;
  handler: Handler;
}

const DEFAULTS = {
  bodyLimit: 1024 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 5_000,
  maxHeaderSize: 16 * 1024,
  maxHeadersCount: 100,
  closeTimeout: 10_000,
  sendTimeout: 30_000,
};

function timeoutOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new TypeError(
      `${name} must be a whole number of ms from 0 to ${2 ** 31 - 1}, got ${String(value)}`,
    );
  }
  return value;
}

function headerCountLimit(value: unknown): number {
  if (value === undefined) return DEFAULTS.maxHeadersCount;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`maxHeadersCount must be a positive whole number, got ${String(value)}`);
  }
  return value;
}

const METHOD_TOKEN = /^[A-Z][A-Z0-9_-]*$/;

export class App {
  readonly logger: Logger;
  private readonly settings: typeof DEFAULTS;
  private readonly router = new Router<Route>();
  private readonly middleware: Middleware[] = [];
  private readonly requestId: RequestIdSource;
  private readonly requestContext: RequestContext;
  /** Requests whose handler or stream has not finished, with the promise that says when. */
  private readonly inFlight = new Map<SluiceRequest, Promise<void>>();
  private readonly httpConnections = new ConnectionRegistry();
  private readonly openStreams: OpenStreamCounts = { sse: 0 };
  private readonly gateway: WebSocketGateway;
  private readonly topics: Topics;
  /** The caps on SSE streams and WebSockets, if the options set any. */
  private readonly limits: ConnectionCaps | undefined;
  /** SSE requests holding a place under the caps, until their response ends. */
  private readonly slots = new WeakMap<SluiceRequest, ConnectionSlot>();
  /** The server once created, to attach the upgrade listener to when a WebSocket route comes late. */
  private server_: Server | undefined;
  /** The pending or settled `listen()`, so that `close()` during it still closes the server. */
  private starting: Promise<ListeningServer> | undefined;
  private listening: ListeningServer | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: AppOptions = {}) {
    this.logger = createLogger(options.logger);
    this.limits = ConnectionCaps.from(options);
    this.settings = {
      bodyLimit: options.bodyLimit ?? DEFAULTS.bodyLimit,
      headersTimeout: options.headersTimeout ?? DEFAULTS.headersTimeout,
      requestTimeout: options.requestTimeout ?? DEFAULTS.requestTimeout,
      keepAliveTimeout: options.keepAliveTimeout ?? DEFAULTS.keepAliveTimeout,
      maxHeaderSize: options.maxHeaderSize ?? DEFAULTS.maxHeaderSize,
      maxHeadersCount: headerCountLimit(options.maxHeadersCount),
      closeTimeout: options.closeTimeout ?? DEFAULTS.closeTimeout,
      sendTimeout: timeoutOption("sendTimeout", options.sendTimeout, DEFAULTS.sendTimeout),
    };
    const idHeader = options.requestIdHeader ?? "x-request-id";
    this.requestContext = {
      logger: this.logger,
      bodyLimit: this.settings.bodyLimit,
      requestIdHeader: idHeader === false ? "x-request-id" : idHeader.toLowerCase(),
      openStreams: this.openStreams,
      sendTimeout: this.settings.sendTimeout,
    };
    this.topics = new Topics(checkBroker(options.broker) ?? memoryBroker(), this.logger);
    this.gateway = new WebSocketGateway(this.logger, this.topics);
    this.requestId = requestIdSource(idHeader, options.generateRequestId, (error) =>
      logSafely(
        this.logger,
        "error",
        { err: error },
        "generateRequestId failed; used a built-in id",
      ),
    );
  }

  /** Adds middleware that runs, in order, before every handler (and for 404/405 too). */
  use(middleware: Middleware): this {
    if (typeof middleware !== "function")
      throw new TypeError("app.use() takes a middleware function");
    this.middleware.push(middleware);
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
    if (!this.limits) return this.route("GET", path, routeHandler);
    // The cap is checked before the handler runs: a refused client starts nothing.
    return this.route("GET", path, (request) => {
      this.takeStreamSlot(request);
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
    return this.addWebSocketRoute(path, options, handler);
  }

  /** Open WebSocket connections and SSE streams. */
  get connections(): OpenConnections {
    return { websocket: this.gateway.size, sse: this.openStreams.sse };
  }

  /**
   * Local topic subscribers right now, across topics: SSE subscriptions and WebSockets'
   * `subscribe()`s in this process. For metrics, and to check that nothing leaks.
   */
  get topicSubscribers(): number {
    return this.topics.hub.sinkCount;
  }

  route(method: string, path: string, handler: Handler, name?: string): this {
    const upper = method.toUpperCase();
    if (upper !== "*" && !METHOD_TOKEN.test(upper))
      throw new TypeError(`Invalid HTTP method "${method}"`);
    if (typeof handler !== "function")
      throw new TypeError(`Route ${upper} ${path} needs a handler function`);
    this.router.add(upper, path, { method: upper, path, name, handler });
    return this;
  }

  /** The seed's low-level form: `{ method, path, handler_name, is_async }` plus the handler. */
  addRoute(definition: RouteDefinition, handler: Handler | WebSocketHandler): this {
    if (definition.method.toUpperCase() === "WS") {
      return this.addWebSocketRoute(
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

  private addWebSocketRoute(
    path: string,
    options: WebSocketOptions | undefined,
    handler: WebSocketHandler | undefined,
    name?: string,
  ): this {
    this.gateway.add(path, options ?? {}, handler as WebSocketHandler, name);
    if (this.server_) this.listenForUpgrades(this.server_);
    return this;
  }

  /** A node:http request listener, to mount the app on a server of your own. */
  readonly handle = (raw: IncomingMessage, response: ServerResponse): void => {
    const request = new SluiceRequest(raw, response, this.requestId(raw), this.requestContext);
    let outcome: unknown;
    try {
      outcome = this.begin(request);
    } catch (error) {
      this.fail(request, error);
      return;
    }
    if (isPromiseLike(outcome)) {
      this.track(
        request,
        Promise.resolve(outcome).then(
          (result) => this.respond(request, result),
          (error) => this.fail(request, error),
        ),
      );
    } else {
      const sending = this.respond(request, outcome);
      if (sending) this.track(request, sending);
    }
  };

  async listen(options: ListenOptions = {}): Promise<ListeningServer> {
    if (this.closing) throw new Error("The app has been closed; create a new App to listen again");
    if (this.starting) {
      throw new Error(
        `The app is already listening${this.listening ? ` on ${this.listening.url}` : ""}`,
      );
    }
    this.starting = listenOn(this.createServer(), options, this);
    try {
      this.listening = await this.starting;
    } catch (error) {
      this.starting = undefined;
      throw error;
    }
    if (this.closing) throw new Error("The app was closed while it was starting to listen");
    logSafely(this.logger, "info", { url: this.listening.url }, "listening");
    return this.listening;
  }

  /** The server created by `listen()`, once listening. */
  get server(): Server | undefined {
    return this.listening?.server;
  }

  /**
   * Publishes `data` (anything JSON can encode) to a topic: it is stored in the topic's log
   * and delivered to every subscriber, SSE and WebSocket, in every process sharing the
   * broker. Resolves the message's id; rejects if the broker could not store it.
   */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<string> {
    return this.topics.publish(topic, data, options);
  }

  /**
   * A topic's messages as SseEvents (return it from an `app.sse()` handler): with
   * `lastEventId`, every retained message after it first, then live ones, with none missed
   * or repeated in between. When that id is older than the retained history (or unknown),
   * the first event is `event: reset` (data `{ reason, lastEventId }`, id the newest
   * message's): reload your state, live messages follow.
   */
  subscribe(topic: string, options?: SubscribeOptions): TopicSubscription {
    return this.topics.subscribe(topic, options);
  }

  /** Retained messages of a topic, oldest first: after an id, or the newest (limit 100). */
  history(topic: string, options?: HistoryOptions): Promise<TopicMessage[]> {
    return this.topics.history(topic, options);
  }

  /**
   * Stops accepting connections, aborts every in-flight request's signal (streams' producers
   * run their `finally`), waits for them up to `timeout` ms, then cuts what is left.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.timeout ?? this.settings.closeTimeout);
    return this.closing;
  }

  private async shutdown(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    const listening = await this.starting?.catch(() => undefined);
    const server = listening?.server;
    const serverClosed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : undefined;
    // Streams ended by the close must not leave their connections open for reuse: a client's
    // next request there would get this app's 503 (EventSource gives up for good on it).
    this.httpConnections.closeEachAfterItsResponse();
    for (const request of this.inFlight.keys()) request.abort("app-closing");
    const socketsClosed = this.gateway.closeAll();
    await settleWithin([...this.inFlight.values(), socketsClosed], deadline - Date.now());
    await this.gateway.terminateAll();
    await this.topics.close();
    if (serverClosed) {
      // Responses already handed to their sockets may still be on their way: wait for their
      // connections to go idle (and close them as they do), up to the deadline.
      const sweep = setInterval(() => this.httpConnections.closeIdle(), 50);
      await settleWithin([serverClosed], deadline - Date.now());
      clearInterval(sweep);
      this.httpConnections.destroyAll();
      await serverClosed;
    }
    listening?.detachSignals();
    logSafely(this.logger, "info", {}, "closed");
  }

  private createServer(): Server {
    const server = createServer(
      {
        headersTimeout: this.settings.headersTimeout,
        requestTimeout: this.settings.requestTimeout,
        maxHeaderSize: this.settings.maxHeaderSize,
        // 0 disables a timeout; the check must not then run every millisecond.
        connectionsCheckingInterval: Math.min(1000, this.settings.headersTimeout || 1000),
        keepAliveTimeout: this.settings.keepAliveTimeout,
      },
      this.handle,
    );
    // One more than the limit is parsed, so that going over it is seen (Node drops the rest).
    // (Capped: Node doubles it into an int32; the head size bounds the count far below anyway.)
    server.maxHeadersCount = Math.min(this.settings.maxHeadersCount + 1, 1_000_000);
    this.httpConnections.attach(server);
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket, this.logger),
    );
    this.server_ = server;
    if (this.gateway.hasRoutes) this.listenForUpgrades(server);
    return server;
  }

  /**
   * Once a server has an 'upgrade' listener, Node hands it every request that asks for an
   * upgrade: an app without WebSocket routes does not listen, and keeps serving those as
   * ordinary requests.
   */
  private listenForUpgrades(server: Server): void {
    if (server.listenerCount("upgrade") === 0) server.on("upgrade", this.handleUpgrade);
  }

  private readonly onUpgradeSocketError = (error: Error): void => {
    logSafely(this.logger, "debug", { err: error }, "upgrade socket error");
  };

  /**
   * A node:http 'upgrade' listener, to mount the app's WebSocket routes on a server of your
   * own (next to `app.handle` for its requests); `listen()` attaches it by itself.
   */
  readonly handleUpgrade = (raw: IncomingMessage, duplex: Duplex, head: Buffer): void => {
    const socket = duplex as Socket;
    // Node has let go of the socket: until ws takes it, its errors are ours to catch.
    // One listener per App: a closure here would keep the request and `head` (the whole read
    // buffer) alive for the WebSocket's life.
    socket.on("error", this.onUpgradeSocketError);
    const response = responseOnSocket(raw, socket);
    if (!asksForWebSocket(raw)) {
      this.serveIgnoringUpgrade(raw, response);
      return;
    }
    const request = new SluiceRequest(raw, response, this.requestId(raw), this.requestContext);
    let outcome: unknown;
    try {
      outcome = this.beginUpgrade(request);
    } catch (error) {
      this.fail(request, error);
      return;
    }
    this.track(
      request,
      Promise.resolve(outcome).then(
        (result) => this.finishUpgrade(request, result, socket, head),
        (error) => this.fail(request, error),
      ),
    );
  };

  /** Routing, app middleware and the route's checks; resolves to an Admission to upgrade. */
  private beginUpgrade(request: SluiceRequest): unknown {
    if (this.closing) throw new HttpError(503, "The server is shutting down");
    this.checkHead(request);
    const route = this.gateway.find(request);
    const admit = () => {
      if (!route) throw new HttpError(404, `No WebSocket route for ${request.path}`);
      return this.gateway.admit(route, request);
    };
    if (this.middleware.length === 0) return admit();
    return runMiddleware(this.middleware, request, admit);
  }

  private finishUpgrade(
    request: SluiceRequest,
    result: unknown,
    socket: Socket,
    head: Buffer,
  ): Promise<void> | undefined {
    // A middleware that answered by itself: its answer goes out as HTTP.
    if (!(result instanceof Admission)) {
      if (this.gateway.wasAdmitted(request)) {
        logSafely(
          request.log,
          "warn",
          {},
          "a middleware answered a WebSocket upgrade with its own result after next(); return next()'s result to let the upgrade through",
        );
      }
      return this.respond(request, result);
    }
    if (this.closing) {
      this.fail(request, new HttpError(503, "The server is shutting down"));
      return undefined;
    }
    if (socket.destroyed) return undefined; // the client left during middleware
    const place = this.limits?.acquire(request);
    request.response.detachSocket(socket);
    request.releaseResponse();
    if (place && isRefusal(place)) {
      logSafely(
        request.log,
        "info",
        { limit: place.limit },
        "WebSocket refused: connection cap reached",
      );
      this.gateway.upgrade(result, request, socket, head, { refusal: place.message });
    } else {
      this.gateway.upgrade(result, request, socket, head, { slot: place });
    }
    return undefined;
  }

  /**
   * An upgrade to something else than WebSocket (h2c, say) is optional for the server: the
   * request is answered as usual, on a connection that then closes. Its body cannot be read
   * (Node stopped parsing the connection), so one that has a body is refused.
   */
  private serveIgnoringUpgrade(raw: IncomingMessage, response: ServerResponse): void {
    if (!declaresBody(raw)) {
      this.handle(raw, response);
      return;
    }
    const request = new SluiceRequest(raw, response, this.requestId(raw), this.requestContext);
    this.fail(
      request,
      new HttpError(
        400,
        `Upgrade to "${raw.headers.upgrade}" is not supported with a request body`,
      ),
    );
  }

  /** Routes and runs middleware and handler: the result, or a promise of it for async work. */
  private begin(request: SluiceRequest): unknown {
    if (this.closing) throw new HttpError(503, "The server is shutting down");
    this.checkHead(request);
    const lookup = this.lookup(request);
    if (this.middleware.length === 0) return this.invoke(request, lookup);
    return runMiddleware(this.middleware, request, () => this.invoke(request, lookup));
  }

  /**
   * What Node's parser lets through but a request head must not have: too many fields, two
   * Hosts, a path with no safe canonical form. Runs before any middleware.
   */
  private checkHead(request: SluiceRequest): void {
    const count = request.raw.rawHeaders.length / 2;
    if (count > this.settings.maxHeadersCount) {
      throw new HttpError(
        431,
        `Too many header fields: more than ${this.settings.maxHeadersCount} (maxHeadersCount)`,
      );
    }
    const problem = checkHost(request.raw) ?? request.pathProblem;
    if (problem) throw new HttpError(400, problem);
  }

  /** Sends a result; a promise when it is a stream that goes on after this tick. */
  private respond(request: SluiceRequest, result: unknown): Promise<void> | undefined {
    if (this.limits) {
      result = this.admitEventStream(request, result);
      if (result === REFUSED) return undefined;
    }
    let sending: Promise<void> | undefined;
    try {
      sending = sendResult(request, request.response, result, this.finalHeaders(request))?.catch(
        (error) => this.fail(request, error),
      );
    } catch (error) {
      this.fail(request, error);
      return undefined;
    }
    const slot = this.limits && this.slots.get(request);
    if (slot) {
      if (sending) sending.then(slot.release);
      else slot.release(); // an answer instead of a stream (204, say): already sent
    }
    return sending;
  }

  /**
   * Takes a place under the connection caps for an SSE stream, given back when its response
   * ends (or, earlier, when the stream finishes); a 503 HttpError when a cap is reached.
   * HEAD gets the head alone, nothing long-lived: it is not counted.
   */
  private takeStreamSlot(request: SluiceRequest): void {
    if (!this.limits || request.method === "HEAD" || this.slots.has(request)) return;
    const place = this.limits.acquire(request);
    if (isRefusal(place)) {
      logSafely(
        request.log,
        "info",
        { limit: place.limit },
        "SSE stream refused: connection cap reached",
      );
      throw tooManyConnections(place);
    }
    this.slots.set(request, place);
    request.response.once("close", place.release);
  }

  /**
   * An SSE stream answered by a route that is not `app.sse()` (an SseResponse, a hand-made
   * `text/event-stream` stream or Response) takes its place here; refused, its source is
   * closed unread and the client gets the 503.
   */
  private admitEventStream(request: SluiceRequest, result: unknown): unknown {
    if (this.slots.has(request) || request.method === "HEAD") return result;
    let stream = result;
    if (result instanceof StreamingResponse) {
      stream = asSseIfEventStream(result);
      if ((stream as StreamingResponse).lifecycle.countsAs !== "sse") return result;
    } else if (!(result instanceof Response && isWebEventStream(result))) {
      return result;
    }
    try {
      this.takeStreamSlot(request);
    } catch (error) {
      if (stream instanceof StreamingResponse) {
        cancelSource(openSource(stream.source), (failure) =>
          logSafely(
            request.log,
            "warn",
            { err: failure },
            "stream producer failed while being cancelled",
          ),
        );
      } else (stream as Response).body?.cancel().catch(() => {});
      this.fail(request, error);
      return REFUSED;
    }
    return stream;
  }

  private fail(request: SluiceRequest, error: unknown): void {
    const abortedBecause = request.abortedBecause;
    if (abortedBecause && isAbortError(error, request)) {
      // The handler's own reaction to req.signal, not a crash.
      if (abortedBecause === "client-disconnected") {
        logSafely(request.log, "debug", {}, "handler stopped after the client left");
        request.response.destroy();
        return;
      }
      error = new HttpError(503, "The server is shutting down", undefined, { cause: error });
    }
    sendError(request, request.response, error, this.finalHeaders(request));
    if (this.limits) this.slots.get(request)?.release();
  }

  /**
   * Work that outlives the tick it started in (async handlers, streams) is watched: a client
   * that leaves aborts its signal, and `close()` waits for it. Sync answers skip this cost.
   */
  private track(request: SluiceRequest, done: Promise<void>): void {
    const unwatch = watchDisconnect(request);
    this.inFlight.set(request, done);
    done.then(() => {
      this.inFlight.delete(request);
      unwatch();
    });
  }

  private lookup(request: SluiceRequest): LookupResult<Route> {
    const methods = methodsToTry(request.method);
    const lookup = this.router.lookup(methods, request.path);
    if (lookup.kind === "found") {
      request.params = lookup.match.params;
      request.routePath = lookup.match.value.path;
    }
    return lookup;
  }

  private invoke(request: SluiceRequest, lookup: LookupResult<Route>): unknown {
    if (lookup.kind === "found") return lookup.match.value.handler(request);
    if (lookup.kind === "method-not-allowed") {
      const allow = lookup.allowed.join(", ");
      // Like Express: OPTIONS on a known path answers with what it allows.
      if (request.method === "OPTIONS") return HttpResponse.empty(204, { allow });
      throw new HttpError(405, `${request.method} is not allowed on ${request.path}`, undefined, {
        headers: { allow },
      });
    }
    if (this.gateway.hasRoutes && this.gateway.find(request)) {
      throw new HttpError(426, `${request.path} is a WebSocket endpoint`, undefined, {
        headers: { upgrade: "websocket" },
      });
    }
    throw new HttpError(404, `No route for ${request.method} ${request.path}`);
  }

  /**
   * The request's response headers, plus `connection: close` while the app closes, or when a
   * large unread body is still coming (closing beats reading it all to reuse the connection;
   * the socket then lingers so the client's upload cannot reset the answer away).
   */
  private finalHeaders(request: SluiceRequest): Record<string, string | string[]> {
    if (request.unreadBodyBlocksConnection) {
      request.responseHeaders.connection = "close";
      lingerBeforeClosing(request.raw.socket);
    } else if (this.closing) request.responseHeaders.connection = "close";
    return request.responseHeaders;
  }
}

/** What `admitEventStream` returns for a stream it refused (and answered). */
const REFUSED = Symbol("refused");

function tooManyConnections(refusal: ConnectionRefusal): HttpError {
  return new HttpError(503, refusal.message, undefined, {
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
  });
}

function isWebEventStream(response: Response): boolean {
  if (response.body === null) return false;
  return /^\s*text\/event-stream\s*(;|$)/i.test(response.headers.get("content-type") ?? "");
}

const HEAD_OR_GET = ["HEAD", "GET"];
const singleMethods = new Map<string, string[]>();

/** HEAD falls back to GET; the arrays are shared so routing allocates nothing per request. */
function methodsToTry(method: string): readonly string[] {
  if (method === "HEAD") return HEAD_OR_GET;
  let methods = singleMethods.get(method);
  if (!methods) {
    methods = [method];
    singleMethods.set(method, methods);
  }
  return methods;
}

/** An error thrown because the request's signal aborted (the reason itself, or an AbortError). */
function isAbortError(error: unknown, request: SluiceRequest): boolean {
  if (error === request.signal.reason) return true;
  return error instanceof Error && error.name === "AbortError";
}

async function settleWithin(promises: Promise<unknown>[], timeout: number): Promise<void> {
  if (promises.length === 0 || timeout <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeout);
  });
  await Promise.race([Promise.allSettled(promises), expired]);
  clearTimeout(timer);
}
