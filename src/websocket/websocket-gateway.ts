import { type IncomingMessage, validateHeaderName, validateHeaderValue } from "node:http";
import type { OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { HttpError } from "../http/http-error.js";
import type { Middleware } from "../http/middleware-chain.js";
import type { SluiceRequest } from "../http/request.js";
import { Router } from "../http/router.js";
import type { ConnectionSlot } from "../server/connection-caps.js";
import { logSafely } from "../util/logger.js";
import { warnIfAuthSubprotocolUnlisted, warnUnlistedAuthSubprotocols } from "./auth-subprotocol.js";
import { CloseCode, closeCodeForHttpStatus, fitCloseReason } from "./close-codes.js";
import { HandlerCount } from "./handler-count.js";
import { Heartbeat } from "./heartbeat.js";
import { LinkedWebSocket } from "./linked-websocket.js";
import { refuseOrigin } from "./origin-refusal.js";
import { SluiceWebSocket, type SocketRegistry } from "./sluice-websocket.js";
import { type SocketLimits, socketLimits } from "./socket-limits.js";
import { socketSchemas } from "./socket-schemas.js";
import type { SocketTopics } from "./socket-topics.js";
import { serverWebSocketOnStream } from "./stream-websocket.js";
import { transportOf, type UpgradeChannel } from "./upgrade-channel.js";
import { type ResolvedWebSocketOptions, resolveWebSocketOptions } from "./websocket-options.js";
import type { WebSocketRouteOptions } from "./websocket-schema-options.js";
import { runSession } from "./websocket-session.js";

/**
 * Runs for the life of a socket. Its return closes the socket with 1000, unless it returns
 * `socket.keepOpen()` (the socket then lives on without a handler). A thrown (or
 * rejected) `HttpError` is a refusal: the socket closes with 4000 + its status (403 -> 4403)
 * and its message as the reason (cut to 123 bytes), logged without a stack. Anything else
 * thrown is a crash: 1011 "Internal error", logged as an error.
 */
export type WebSocketHandler = (socket: SluiceWebSocket, request: SluiceRequest) => unknown;

interface WebSocketRoute {
  path: string;
  name: string | undefined;
  handler: WebSocketHandler;
  options: ResolvedWebSocketOptions;
  /** Shared by the route's sockets. */
  limits: SocketLimits;
  heartbeat: Heartbeat | undefined;
  /** A refusal (HttpError 4xx) completes the handshake and closes (app.realtime's routes). */
  refusesAfterHandshake: boolean;
  /** @internal `ws`'s own types stay out of the published declarations. */
  server: WebSocketServer;
}

/** An upgrade that middleware and the route's checks let through: what `next()` resolves to. */
export class Admission {
  constructor(
    readonly route: WebSocketRoute,
    readonly protocol: string | undefined,
  ) {}

  /** A middleware that wraps `next()`'s result in JSON must not publish the route's internals. */
  toJSON(): undefined {
    return undefined;
  }
}

/** What the app's connection caps decided for an upgrade. */
export interface UpgradeAdmission {
  /** The place the socket holds under the caps: given back when its connection closes. */
  slot?: ConnectionSlot;
  /** A cap is reached: the handshake completes, then the socket closes with 1013 and this reason. */
  refusal?: string;
  /** The close code of the refusal, when not 1013. */
  refusalCode?: number;
}

/** How long a handler may leave its peer paused when the route has no heartbeat to go by. */
const DEFAULT_UNREAD_TIMEOUT_MS = 30_000;

/**
 * Response headers the handshake never takes from the app: its own, and those of the
 * connection (which HTTP/2 forbids).
 */
const HANDSHAKE_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
]);

/**
 * The WebSocket side of an App: routes, the handshake after middleware let it through, the
 * open sockets (for `app.connections` and shutdown) and their heartbeats.
 */
export class WebSocketGateway implements SocketRegistry {
  private readonly router = new Router<WebSocketRoute>();
  private readonly routes: WebSocketRoute[] = [];
  private readonly open = new Set<SluiceWebSocket>();
  private readonly sessions = new HandlerCount();
  private readonly heartbeats = new Map<number, Heartbeat>();
  /** Places open sockets hold under the app's connection caps. */
  private readonly slots = new Map<SluiceWebSocket, ConnectionSlot>();
  /** Upgrades between admission and the socket's creation, by Node's request. */
  private readonly admitted = new WeakMap<
    IncomingMessage,
    { request: SluiceRequest; admission: Admission }
  >();
  private readonly admittedRequests = new WeakSet<SluiceRequest>();
  /** The 403s of refused origins: a route that refuses after the handshake closes with 1008. */
  private readonly originRefusals = new WeakSet<HttpError>();
  private routeCount = 0;
  private shuttingDown = false;

  constructor(
    private readonly logger: Logger,
    readonly topics: SocketTopics,
    /** Whether a route's `send` schema checks what its sockets send (AppOptions.validateOutput). */
    private readonly validateOutput = true,
  ) {}

  /** Open WebSocket connections. */
  get size(): number {
    return this.open.size;
  }

  get hasRoutes(): boolean {
    return this.routeCount > 0;
  }

  add(
    path: string,
    options: WebSocketRouteOptions,
    handler: WebSocketHandler,
    name?: string,
    refusesAfterHandshake = false,
  ): void {
    if (typeof handler !== "function") {
      throw new TypeError(`WebSocket route ${path} needs a handler function`);
    }
    const resolved = resolveWebSocketOptions(path, options);
    const route: WebSocketRoute = {
      path,
      name,
      handler,
      options: resolved,
      limits: socketLimits(
        resolved.maxBuffered,
        resolved.heartbeat || DEFAULT_UNREAD_TIMEOUT_MS,
        resolved.messageRate,
        socketSchemas(path, options, this.validateOutput),
      ),
      heartbeat: this.heartbeatFor(resolved.heartbeat),
      refusesAfterHandshake,
      server: this.serverFor(resolved),
    };
    this.router.add("GET", path, route);
    this.routes.push(route);
    this.routeCount++;
  }

  /** The WebSocket routes' paths, in the order they were added. */
  get paths(): string[] {
    return this.routes.map((route) => route.path);
  }

  /**
   * Warns about routes whose auth middleware reads its token after a subprotocol marker the
   * route does not list (run when the app starts listening).
   */
  checkAuthSubprotocols(middlewareFor: (path: string) => readonly Middleware[]): void {
    warnUnlistedAuthSubprotocols(this.routes, middlewareFor, this.logger);
  }

  /** The route for a path (setting the request's params), or undefined. */
  find(request: SluiceRequest): WebSocketRoute | undefined {
    const lookup = this.router.lookup(["GET"], request.path);
    if (lookup.kind !== "found") return undefined;
    request.params = lookup.match.params;
    request.routePath = lookup.match.value.path;
    return lookup.match.value;
  }

  /** The route's own checks, run as the last step of the middleware chain: origin, then subprotocol. */
  admit(route: WebSocketRoute, request: SluiceRequest): Admission {
    const { origins, protocols, requireProtocol } = route.options;
    const origin = request.header("origin");
    if (origins && origin !== undefined && !origins(origin, request)) {
      const refusal = refuseOrigin(route, origin, request);
      this.originRefusals.add(refusal);
      throw refusal;
    }
    warnIfAuthSubprotocolUnlisted(route, request, this.logger);
    const offered = offeredProtocols(request);
    const protocol = offered.find((name) => protocols.includes(name));
    if (protocol === undefined && requireProtocol) {
      throw new HttpError(
        400,
        `None of the offered subprotocols (${offered.join(", ") || "none"}) is spoken here; expected one of ${protocols.join(", ")}`,
      );
    }
    this.admittedRequests.add(request);
    return new Admission(route, protocol);
  }

  /**
   * The close code that answers `error` on an upgrade to a route that refuses after the
   * handshake (a browser cannot read a refused handshake's status): 4000 + the status of an
   * HttpError 4xx, 1008 for a refused origin. Undefined: answer over HTTP as usual.
   */
  closeCodeForRefusal(request: SluiceRequest, error: unknown): number | undefined {
    if (!(error instanceof HttpError) || error.status >= 500) return undefined;
    if (!this.find(request)?.refusesAfterHandshake) return undefined;
    return this.originRefusals.has(error)
      ? CloseCode.policyViolation
      : closeCodeForHttpStatus(error.status);
  }

  /** Completes the handshake of a refused upgrade (see closeCodeForRefusal), then closes. */
  refuseAfterHandshake(
    request: SluiceRequest,
    channel: UpgradeChannel,
    code: number,
    reason: string,
  ): void {
    const route = this.find(request);
    if (!route) throw new Error(`No WebSocket route for ${request.path}`);
    const protocol = offeredProtocols(request).find((name) =>
      route.options.protocols.includes(name),
    );
    const refusal = fitCloseReason(reason);
    this.upgrade(new Admission(route, protocol), request, channel, {
      refusal,
      refusalCode: code,
    });
  }

  /** True when the route's checks let this request through (whatever middleware did next). */
  wasAdmitted(request: SluiceRequest): boolean {
    return this.admittedRequests.has(request);
  }

  /**
   * Completes the handshake (ws answers a malformed one with 400/405) and starts the handler;
   * or, refused by a connection cap, closes the new socket at once with 1013 and the reason
   * (the handshake goes through first, protocol and all: a browser sees the code and reason
   * of a close, never the status of a refused upgrade).
   */
  upgrade(
    admission: Admission,
    request: SluiceRequest,
    channel: UpgradeChannel,
    caps: UpgradeAdmission = {},
  ): void {
    // wasAdmitted() is asked before this only: no entry kept for the socket's life.
    this.admittedRequests.delete(request);
    const { slot, refusal, refusalCode = CloseCode.tryAgainLater } = caps;
    const transport = transportOf(channel);
    // However the connection ends, handshake failures included, its place is given back.
    if (slot) transport.once("close", slot.release);
    const opened = (ws: LinkedWebSocket<SluiceWebSocket>) => {
      if (refusal !== undefined) {
        ws.on("error", ignoreError);
        ws.close(refusalCode, refusal);
        return;
      }
      this.start(admission.route, ws, transport, request, slot);
    };
    if (channel.kind === "h2") {
      const ws = this.acceptOnStream(admission, request, channel.stream);
      if (ws) opened(ws as LinkedWebSocket<SluiceWebSocket>);
      return;
    }
    const raw = request.upgradeRaw;
    this.admitted.set(raw, { request, admission });
    admission.route.server.handleUpgrade(raw, channel.socket, channel.head, (ws) => {
      this.admitted.delete(raw);
      opened(ws as LinkedWebSocket<SluiceWebSocket>);
    });
  }

  /**
   * The handshake of RFC 8441 on an h2 stream: a 200 with the agreed subprotocol and the
   * headers middleware set, then WebSocket frames both ways on the stream. Undefined when
   * the stream is gone (the client left during middleware).
   */
  private acceptOnStream(
    admission: Admission,
    request: SluiceRequest,
    stream: ServerHttp2Stream,
  ): LinkedWebSocket | undefined {
    if (stream.destroyed || stream.closed) return undefined;
    const headers: OutgoingHttpHeaders = { ":status": 200 };
    for (const [name, value] of appHeaderFields(request, this.logger)) {
      const key = name.toLowerCase();
      const previous = headers[key] as string | string[] | undefined;
      headers[key] = previous === undefined ? value : ([] as string[]).concat(previous, value);
    }
    if (admission.protocol !== undefined) headers["sec-websocket-protocol"] = admission.protocol;
    try {
      stream.respond(headers);
    } catch (error) {
      // The stream closed under the handshake: nobody is left to tell.
      logSafely(request.log, "debug", { err: error }, "h2 WebSocket stream gone before its answer");
      stream.destroy();
      return undefined;
    }
    return serverWebSocketOnStream(admission.route.server, stream, admission.protocol);
  }

  /** Sends 1001 to every socket; resolves once they are closed and their handlers returned. */
  async closeAll(): Promise<void> {
    this.shuttingDown = true;
    for (const socket of this.open) socket.closeForShutdown();
    await Promise.all([this.sessions.allEnded(), ...[...this.open].map((socket) => socket.closed)]);
  }

  /** Drops whatever did not close in time; resolves once those connections are gone. */
  async terminateAll(): Promise<void> {
    const left = [...this.open];
    for (const socket of left) socket.terminate();
    await Promise.all(left.map((socket) => socket.closed));
  }

  /** A socket's connection closed: it is no longer open, nor pinged. */
  socketClosed(socket: SluiceWebSocket): void {
    this.open.delete(socket);
    const slot = this.slots.get(socket);
    if (slot) {
      this.slots.delete(socket);
      slot.release();
    }
    for (const heartbeat of this.heartbeats.values()) heartbeat.delete(socket);
  }

  private start(
    route: WebSocketRoute,
    ws: LinkedWebSocket<SluiceWebSocket>,
    transport: Duplex,
    request: SluiceRequest,
    slot: ConnectionSlot | undefined,
  ): void {
    const socket = new SluiceWebSocket(ws, transport, request, route.limits, this);
    this.open.add(socket);
    if (slot) this.slots.set(socket, slot);
    route.heartbeat?.add(socket);
    // A handshake that completed as the app began closing: the handler still runs (and its
    // finally), on a socket that is already closing.
    if (this.shuttingDown) socket.closeForShutdown();
    runSession(route.handler, socket, request, this.sessions);
  }

  private heartbeatFor(intervalMs: number): Heartbeat | undefined {
    if (intervalMs === 0) return undefined;
    let heartbeat = this.heartbeats.get(intervalMs);
    if (!heartbeat) {
      heartbeat = new Heartbeat(intervalMs, (socket) => {
        socket.request.log.info("WebSocket peer did not answer the last ping; connection dropped");
        socket.terminate();
      });
      this.heartbeats.set(intervalMs, heartbeat);
    }
    return heartbeat;
  }

  /** One ws server per route: it holds the route's limits; sluice does the routing and checks. */
  private serverFor(options: ResolvedWebSocketOptions): WebSocketServer {
    const server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      WebSocket: LinkedWebSocket,
      maxPayload: options.maxPayload,
      perMessageDeflate: options.compression,
      closeTimeout: options.closeTimeout,
      handleProtocols: (_offered, raw) => this.admitted.get(raw)?.admission.protocol ?? false,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
    server.on("headers", (headers, raw) => {
      const pending = this.admitted.get(raw);
      if (pending) appendAppHeaders(headers, pending.request, this.logger);
    });
    return server;
  }
}

/** A socket closed by a cap is not read from: what goes wrong on it does not matter. */
function ignoreError(): void {}

/** The subprotocols a client offered, in its order of preference. */
function offeredProtocols(request: SluiceRequest): string[] {
  const header = request.header("sec-websocket-protocol");
  if (!header) return [];
  return header
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
}

/**
 * Headers middleware set on the request (a cookie, the request id) go into the handshake's
 * answer (HTTP/1.1's 101), checked as Node checks any header, since ws writes them to the
 * socket as they are.
 */
function appendAppHeaders(lines: string[], request: SluiceRequest, logger: Logger): void {
  for (const [name, value] of appHeaderFields(request, logger)) lines.push(`${name}: ${value}`);
}

/** The headers middleware set on the request that may go into a handshake's answer, one field each. */
function appHeaderFields(request: SluiceRequest, logger: Logger): [string, string][] {
  const fields: [string, string][] = [];
  for (const [name, value] of Object.entries(request.responseHeaders)) {
    if (HANDSHAKE_HEADERS.has(name.toLowerCase())) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      try {
        validateHeaderName(name);
        validateHeaderValue(name, one);
        fields.push([name, String(one)]);
      } catch (error) {
        logger.warn(
          { err: error, reqId: request.id, header: name },
          "invalid header left out of the WebSocket handshake",
        );
      }
    }
  }
  return fields;
}
