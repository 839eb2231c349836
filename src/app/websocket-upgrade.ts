import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { declaresBody } from "../http/body.js";
import { HttpError } from "../http/http-error.js";
import { HttpResponse } from "../http/http-response.js";
import { isHttp1 } from "../http/node-http.js";
import type { SluiceRequest } from "../http/request.js";
import { isWebSocketHandshake } from "../http/websocket-handshake.js";
import { isRefusal } from "../server/connection-caps.js";
import { logSafely } from "../util/logger.js";
import { extendedConnectProblem } from "../websocket/extended-connect.js";
import { transportOf, type UpgradeChannel } from "../websocket/upgrade-channel.js";
import { responseOnSocket } from "../websocket/upgrade-socket.js";
import { Admission, type WebSocketGateway } from "../websocket/websocket-gateway.js";
import type { RequestDispatch } from "./request-dispatch.js";
import type { StreamAdmission } from "./stream-admission.js";

/**
 * The path of a WebSocket handshake, an HTTP/1.1 upgrade or an h2 extended CONNECT alike: app
 * middleware, then the WebSocket route's own checks, then the handshake; any refusal on the
 * way is an HTTP answer (on the socket, or the stream). Other upgrades (h2c, say) are served
 * as ordinary requests.
 */
export class WebSocketUpgrade {
  readonly #dispatch: RequestDispatch;
  readonly #gateway: WebSocketGateway;
  readonly #admission: StreamAdmission | undefined;
  readonly #logger: Logger;

  constructor(
    dispatch: RequestDispatch,
    gateway: WebSocketGateway,
    admission: StreamAdmission | undefined,
    logger: Logger,
  ) {
    this.#dispatch = dispatch;
    this.#gateway = gateway;
    this.#admission = admission;
    this.#logger = logger;
  }

  /** A node:http 'upgrade' listener: `app.handleUpgrade` is this very function. */
  readonly handle = (raw: IncomingMessage, duplex: Duplex, head: Buffer): void => {
    const socket = duplex as Socket;
    // Node has let go of the socket: until ws takes it, its errors are ours to catch.
    // One listener per App: a closure here would keep the request and `head` (the whole read
    // buffer) alive for the WebSocket's life.
    socket.on("error", this.#onSocketError);
    const response = responseOnSocket(raw, socket);
    if (!isWebSocketHandshake(raw)) {
      this.#serveIgnoringUpgrade(raw, response);
      return;
    }
    this.#open(this.#dispatch.createRequest(raw, response), { kind: "http1", socket, head });
  };

  /**
   * An HTTP/2 server's 'connect' listener: an extended CONNECT for a WebSocket (RFC 8441)
   * takes the same path as an HTTP/1.1 upgrade, on its stream; any other CONNECT is refused.
   */
  readonly handleConnect = (raw: Http2ServerRequest, response: Http2ServerResponse): void => {
    const request = this.#dispatch.createRequest(raw, response);
    const problem = extendedConnectProblem(raw);
    if (problem) {
      this.#dispatch.fail(request, problem);
      return;
    }
    this.#open(request, { kind: "h2", stream: raw.stream });
  };

  #open(request: SluiceRequest, channel: UpgradeChannel): void {
    let outcome: unknown;
    try {
      outcome = this.#begin(request);
    } catch (error) {
      this.#refuse(request, error, channel);
      return;
    }
    this.#dispatch.track(
      request,
      Promise.resolve(outcome).then(
        (result) => this.#finish(request, result, channel),
        (error) => this.#refuse(request, error, channel),
      ),
    );
  }

  /**
   * A refused upgrade: answered over HTTP, except on a route that refuses after the handshake
   * (app.realtime's): the handshake completes and the socket closes with the refusal's code.
   */
  #refuse(request: SluiceRequest, error: unknown, channel: UpgradeChannel): void {
    const code = this.#gateway.closeCodeForRefusal(request, error);
    if (code === undefined || this.#dispatch.closing || transportOf(channel).destroyed) {
      this.#dispatch.fail(request, error);
      return;
    }
    const { message } = error as HttpError;
    logSafely(
      request.log,
      "info",
      { status: (error as HttpError).status, code, reason: message },
      `WebSocket upgrade refused; handshake completed and closed with ${code}`,
    );
    detachResponse(request, channel);
    this.#gateway.refuseAfterHandshake(request, channel, code, message);
  }

  readonly #onSocketError = (error: Error): void => {
    logSafely(this.#logger, "debug", { err: error }, "upgrade socket error");
  };

  /** Routing, app middleware and the route's checks; resolves to an Admission to upgrade. */
  #begin(request: SluiceRequest): unknown {
    if (this.#dispatch.closing) throw new HttpError(503, "The server is shutting down");
    this.#dispatch.checkHead(request);
    const route = this.#gateway.find(request);
    return this.#dispatch.throughMiddleware(request, () => {
      if (!route) throw new HttpError(404, `No WebSocket route for ${request.path}`);
      return this.#gateway.admit(route, request);
    });
  }

  #finish(
    request: SluiceRequest,
    result: unknown,
    channel: UpgradeChannel,
  ): Promise<void> | undefined {
    // A middleware that answered by itself: its answer goes out as HTTP, unless it is a 4xx
    // refusal on a route that refuses after the handshake (a browser cannot read the status).
    if (!(result instanceof Admission)) {
      const refusal = this.#returnedRefusal(request, result);
      if (refusal) {
        this.#refuse(request, refusal, channel);
        return undefined;
      }
      if (this.#gateway.wasAdmitted(request)) {
        logSafely(
          request.log,
          "warn",
          {},
          "a middleware answered a WebSocket upgrade with its own result after next(); return next()'s result to let the upgrade through",
        );
      }
      return this.#dispatch.respond(request, result)?.whenEnded();
    }
    if (this.#dispatch.closing) {
      this.#dispatch.fail(request, new HttpError(503, "The server is shutting down"));
      return undefined;
    }
    if (transportOf(channel).destroyed) return undefined; // the client left during middleware
    const place = this.#admission?.acquireForWebSocket(request);
    detachResponse(request, channel);
    if (place && isRefusal(place)) {
      this.#gateway.upgrade(result, request, channel, { refusal: place.message });
    } else {
      this.#gateway.upgrade(result, request, channel, { slot: place });
    }
    return undefined;
  }

  /**
   * A 4xx answer a middleware returned (rather than threw), as the HttpError it stands for, on
   * a route that refuses after the handshake; else undefined. Its message is a text body when
   * it has one at hand, else the status text (a web Response's body is not read).
   */
  #returnedRefusal(request: SluiceRequest, result: unknown): HttpError | undefined {
    let status: number;
    let message: string | undefined;
    if (result instanceof HttpResponse) {
      status = result.statusCode;
      if (typeof result.body === "string" && result.body !== "") message = result.body;
    } else if (result instanceof Response) {
      status = result.status;
    } else return undefined;
    if (status < 400 || status > 499) return undefined;
    const refusal = new HttpError(status, message);
    if (this.#gateway.closeCodeForRefusal(request, refusal) === undefined) return undefined;
    if (result instanceof Response) result.body?.cancel().catch(() => {});
    return refusal;
  }

  /**
   * An upgrade to something else than WebSocket (h2c, say) is optional for the server: the
   * request is answered as usual, on a connection that then closes. Its body cannot be read
   * (Node stopped parsing the connection), so one that has a body is refused.
   */
  #serveIgnoringUpgrade(raw: IncomingMessage, response: ServerResponse): void {
    if (!declaresBody(raw)) {
      this.#dispatch.handle(raw, response);
      return;
    }
    this.#dispatch.fail(
      this.#dispatch.createRequest(raw, response),
      new HttpError(
        400,
        `Upgrade to "${raw.headers.upgrade}" is not supported with a request body`,
      ),
    );
  }
}

/** The connection (or h2 stream) is the WebSocket's now: the response made for a refusal lets go of it. */
function detachResponse(request: SluiceRequest, channel: UpgradeChannel): void {
  const { response } = request;
  // An HTTP/1.1 upgrade's response is node:http's, which holds the socket.
  if (channel.kind === "http1" && isHttp1(response)) response.detachSocket(channel.socket);
  request.releaseResponse();
}
