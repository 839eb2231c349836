import { unwatchDisconnect, watchDisconnect } from "../http/disconnect-watch.js";
import { checkHost } from "../http/host-check.js";
import { HttpError } from "../http/http-error.js";
import { HttpResponse } from "../http/http-response.js";
import { runMiddleware } from "../http/middleware-chain.js";
import {
  isHttp1,
  isHttp2Request,
  type NodeRequest,
  type NodeResponse,
  stopReadingAfterResponse,
} from "../http/node-http.js";
import { type RequestContext, SluiceRequest } from "../http/request.js";
import type { RequestIdSource } from "../http/request-id.js";
import type { LookupResult } from "../http/router.js";
import { sendError } from "../http/send-error.js";
import { StreamingResponse } from "../http/streaming-response.js";
import { lingerBeforeClosing } from "../server/lingering-close.js";
import { asSseIfEventStream } from "../sse/sse-response.js";
import type { StreamOwner, StreamSending } from "../stream/stream-sender.js";
import { isPromiseLike } from "../util/is-promise-like.js";
import { logSafely } from "../util/logger.js";
import type { WebSocketGateway } from "../websocket/websocket-gateway.js";
import type { MiddlewareStack } from "./middleware-stack.js";
import type { Route, RouteTable } from "./route-table.js";
import { sendResult } from "./send-result.js";
import type { StreamAdmission } from "./stream-admission.js";

/** What a dispatch needs from the app, fixed when the app is made. */
export interface DispatchParts {
  readonly routes: RouteTable;
  readonly middleware: MiddlewareStack;
  readonly gateway: WebSocketGateway;
  /** Undefined when the app sets no connection caps. */
  readonly admission: StreamAdmission | undefined;
  readonly requestId: RequestIdSource;
  readonly requestContext: RequestContext;
  readonly maxHeadersCount: number;
}

/**
 * The path of an HTTP request: checks on its head, routing, middleware, the handler, and the
 * answer it gets, or the error. Synchronous handlers are answered in the same tick, and an
 * app without middleware runs no middleware chain.
 */
export class RequestDispatch implements StreamOwner {
  readonly #routes: RouteTable;
  readonly #middleware: MiddlewareStack;
  readonly #gateway: WebSocketGateway;
  readonly #admission: StreamAdmission | undefined;
  readonly #requestId: RequestIdSource;
  readonly #requestContext: RequestContext;
  readonly #maxHeadersCount: number;
  /** Requests whose handler or stream has not finished, with what says when. */
  readonly #inFlight = new Map<SluiceRequest, Promise<void> | StreamSending>();
  /** Set once the app closes: new requests get 503 and every answer closes its connection. */
  #closing = false;

  constructor(parts: DispatchParts) {
    this.#routes = parts.routes;
    this.#middleware = parts.middleware;
    this.#gateway = parts.gateway;
    this.#admission = parts.admission;
    this.#requestId = parts.requestId;
    this.#requestContext = parts.requestContext;
    this.#maxHeadersCount = parts.maxHeadersCount;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * A request listener for node:http, node:https and node:http2 (its compatibility API):
   * `app.handle` is this very function.
   */
  readonly handle = (raw: NodeRequest, response: NodeResponse): void => {
    const request = new SluiceRequest(raw, response, this.#requestId(raw), this.#requestContext);
    let outcome: unknown;
    try {
      outcome = this.#begin(request);
    } catch (error) {
      this.fail(request, error);
      return;
    }
    if (isPromiseLike(outcome)) {
      this.track(
        request,
        Promise.resolve(outcome).then(
          (result) => this.#respondTracked(request, result),
          (error) => this.fail(request, error),
        ),
      );
    } else {
      const sending = this.respond(request, outcome);
      if (sending) this.track(request, sending);
    }
  };

  /** The SluiceRequest of an upgrade request, its response written on the socket itself. */
  createRequest(raw: NodeRequest, response: NodeResponse): SluiceRequest {
    return new SluiceRequest(raw, response, this.#requestId(raw), this.#requestContext);
  }

  /**
   * Runs the app middleware that applies to the request's path, then `next` unless a
   * middleware answered by itself.
   */
  throughMiddleware(request: SluiceRequest, next: () => unknown): unknown {
    const middleware = this.#middleware.forPath(request.path);
    if (middleware.length === 0) return next();
    return runMiddleware(middleware, request, next);
  }

  /** From now on new requests get 503, and answers close their connections. */
  stopAccepting(): void {
    this.#closing = true;
  }

  /** Aborts every unfinished request's signal; the promises that say when each has finished. */
  abortInFlight(): Promise<void>[] {
    for (const request of this.#inFlight.keys()) request.abort("app-closing");
    return Array.from(this.#inFlight.values(), (done) =>
      done instanceof Promise ? done : done.whenEnded(),
    );
  }

  /** Routes and runs middleware and handler: the result, or a promise of it for async work. */
  #begin(request: SluiceRequest): unknown {
    if (this.#closing) throw new HttpError(503, "The server is shutting down");
    this.checkHead(request);
    const lookup = this.#routes.lookup(request);
    const middleware = this.#middleware.forPath(request.path);
    if (middleware.length === 0) return this.#invoke(request, lookup);
    return runMiddleware(middleware, request, () => this.#invoke(request, lookup));
  }

  /**
   * What Node's parser lets through but a request head must not have: too many fields, two
   * Hosts, a path with no safe canonical form. Runs before any middleware.
   */
  checkHead(request: SluiceRequest): void {
    const count = headerFieldCount(request.raw);
    if (count > this.#maxHeadersCount) {
      throw new HttpError(
        431,
        `Too many header fields: more than ${this.#maxHeadersCount} (maxHeadersCount)`,
      );
    }
    const problem = checkHost(request.raw) ?? request.pathProblem;
    if (problem) throw new HttpError(400, problem);
  }

  #invoke(request: SluiceRequest, lookup: LookupResult<Route>): unknown {
    if (lookup.kind === "found") return lookup.match.value.handler(request);
    if (lookup.kind === "method-not-allowed") {
      const allow = lookup.allowed.join(", ");
      // Like Express: OPTIONS on a known path answers with what it allows.
      if (request.method === "OPTIONS") return HttpResponse.empty(204, { allow });
      throw new HttpError(405, `${request.method} is not allowed on ${request.path}`, undefined, {
        headers: { allow },
      });
    }
    if (this.#gateway.hasRoutes && this.#gateway.find(request)) {
      throw new HttpError(426, `${request.path} is a WebSocket endpoint`, undefined, {
        headers: { upgrade: "websocket" },
      });
    }
    throw new HttpError(404, `No route for ${request.method} ${request.path}`);
  }

  /** Sends a result; what says when it ends if it is a stream that goes on after this tick. */
  respond(request: SluiceRequest, result: unknown): StreamSending | undefined {
    // The one place a hand-made `text/event-stream` stream is given SSE behaviour: the caps
    // must see it as SSE before it is sent.
    const answer = result instanceof StreamingResponse ? asSseIfEventStream(result) : result;
    if (this.#admission) {
      const refusal = this.#admission.admitEventStream(request, answer);
      if (refusal) {
        this.fail(request, refusal);
        return undefined;
      }
    }
    let sending: StreamSending | undefined;
    try {
      // A stream tells this.fail() and this.streamEnded() itself (see StreamOwner).
      sending = sendResult(request, request.response, answer, this.#finalHeaders(request), this);
    } catch (error) {
      this.fail(request, error);
      return undefined;
    }
    if (this.#admission) this.#admission.releaseWhenSent(request, sending);
    return sending;
  }

  fail(request: SluiceRequest, error: unknown): void {
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
    sendError(request, request.response, error, this.#finalHeaders(request));
    if (this.#admission) this.#admission.release(request);
  }

  /**
   * Work that outlives the tick it started in (async handlers, streams) is watched: a client
   * that leaves aborts its signal, and `close()` waits for it. Sync answers skip this cost.
   */
  track(request: SluiceRequest, done: Promise<void> | StreamSending): void {
    if (!(done instanceof Promise)) {
      // It tells streamEnded() itself: no reaction held for as long as the stream is open.
      if (done.ended) return;
      watchDisconnect(request, request.response);
      this.#inFlight.set(request, done);
      return;
    }
    const { response } = request;
    watchDisconnect(request, response);
    this.#inFlight.set(request, done);
    // Bound rather than a closure: no context object held while the work goes on. The
    // response is bound too: an upgraded request lets go of its own.
    done.then(this.#settled.bind(this, request, response, done));
  }

  /**
   * An async handler's (or middleware's) answer: a stream it started is tracked by itself
   * from now on, in the handler's place, so the stream holds no promise chain while open.
   */
  #respondTracked(request: SluiceRequest, result: unknown): void {
    const sending = this.respond(request, result);
    if (sending && !sending.ended) this.#inFlight.set(request, sending);
  }

  /** Tracked work finished: the request is done with, unless a stream took its place. */
  #settled(request: SluiceRequest, response: NodeResponse, done: Promise<void>): void {
    if (this.#inFlight.get(request) === done) this.#untrack(request, response);
  }

  /** A stream is over: it is no longer watched (once it is what tracks its request). */
  streamEnded(request: SluiceRequest, sending: StreamSending): void {
    if (this.#inFlight.get(request) === sending) this.#untrack(request, request.response);
  }

  #untrack(request: SluiceRequest, response: NodeResponse): void {
    this.#inFlight.delete(request);
    unwatchDisconnect(request, response);
  }

  /**
   * The request's response headers, plus `connection: close` while the app closes, or when a
   * large unread body is still coming (closing beats reading it all to reuse the connection;
   * the socket then lingers so the client's upload cannot reset the answer away).
   */
  #finalHeaders(request: SluiceRequest): Record<string, string | string[]> {
    const { response } = request;
    // h2 has no `connection` header (Node drops it, with a warning): there the stream is
    // reset once answered, and a closing app's sessions were sent GOAWAY.
    if (!isHttp1(response)) {
      if (request.unreadBodyBlocksConnection) stopReadingAfterResponse(response);
      return request.responseHeaders;
    }
    if (request.unreadBodyBlocksConnection) {
      request.responseHeaders.connection = "close";
      lingerBeforeClosing(request.raw.socket);
    } else if (this.#closing) request.responseHeaders.connection = "close";
    return request.responseHeaders;
  }
}

/** An error thrown because the request's signal aborted (the reason itself, or an AbortError). */
function isAbortError(error: unknown, request: SluiceRequest): boolean {
  if (error === request.signal.reason) return true;
  return error instanceof Error && error.name === "AbortError";
}

/** Header fields of the request, without h2's pseudo-headers (`:method`, `:path`...). */
function headerFieldCount(raw: NodeRequest): number {
  const names = raw.rawHeaders;
  if (!isHttp2Request(raw)) return names.length / 2;
  let count = 0;
  for (let index = 0; index < names.length; index += 2) if (names[index][0] !== ":") count++;
  return count;
}
