import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { TrafficCounters } from "../util/traffic-counters.js";
import { declaresBody, parseJsonBody, readBody } from "./body.js";
import { canonicalPath } from "./canonical-path.js";
import { HttpError } from "./http-error.js";
import {
  closedIncomplete,
  isHttp2Request,
  type NodeRequest,
  type NodeResponse,
} from "./node-http.js";
import type { JsonParseOptions } from "./safe-json.js";
import { isH2WebSocketConnect } from "./websocket-handshake.js";

const ABORT_MESSAGES = {
  "client-disconnected": "The client disconnected",
  "app-closing": "The app is closing and ended the request",
  // Its stream was ended (bearerAuth's expiresAt, a JWT's exp): see credentials.ts.
  "credentials-expired": "The request's credentials expired and its stream was ended",
};

/** Why a request's signal aborted. */
export class RequestAbortedError extends Error {
  constructor(readonly reason: "client-disconnected" | "app-closing" | "credentials-expired") {
    super(ABORT_MESSAGES[reason]);
    this.name = "RequestAbortedError";
  }
}

/** What every request of one App shares. */
export interface RequestContext {
  logger: Logger;
  bodyLimit: number;
  /** Lower-case name of the header the request id is echoed in. */
  requestIdHeader: string;
  /** Streams open right now, by kind (what `app.connections` reports). */
  openStreams: OpenStreamCounts;
  /** How long an ended stream's last bytes may wait for a client that takes none (ms; 0: for ever). */
  sendTimeout: number;
  /** The App's counters (app.metrics()): streams and sockets count their slow consumers cut. */
  counters: TrafficCounters;
}

export interface OpenStreamCounts {
  sse: number;
}

/**
 * @internal Told when a request aborts, right after its signal's listeners: how the stream
 * pump hears it without an AbortSignal (and its listener) per stream.
 */
export interface AbortListener {
  requestAborted(): void;
}

const NON_ASCII = /[^ -~\t]/;
/** Longest `Last-Event-ID` accepted, in bytes: ids are cursors, not payloads. */
export const MAX_LAST_EVENT_ID_BYTES = 1024;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The Latin-1 header text decoded as the UTF-8 bytes it was, or unchanged if it was not UTF-8. */
function decodeUtf8OrKeep(latin1: string): string {
  try {
    return strictUtf8.decode(Buffer.from(latin1, "latin1"));
  } catch {
    return latin1;
  }
}

/**
 * The request as handlers and middleware see it. Cheap to build: the query, the child
 * logger, `state` and the abort signal are created on first use (an AbortSignal alone costs
 * some 700 bytes, held for as long as a stream is open).
 *
 * The type parameters only type what the router and middleware already put there: `Params`
 * is what the route's path declares (`PathParams<"/users/:id">` is `{ id: string }`), `State`
 * what the app's middleware set in `state` (an App's handlers get `State` with any other key
 * as `unknown` besides, for middleware to set). Nothing is checked at run time.
 */
export class SluiceRequest<
  Params extends Record<string, string> = Record<string, string>,
  State extends object = Record<string, unknown>,
> {
  readonly method: string;
  /**
   * The path without the query string, in its one canonical form: percent-decoded once, as
   * the router matches it (`/%61dmin` is `/admin`), so a guard on it sees what gets routed.
   * A path that cannot be made canonical safely (an encoded `/`, a `..` segment, bad UTF-8)
   * is refused with 400 before any middleware runs.
   */
  readonly path: string;
  /** @internal why the path could not be made canonical (the request then gets 400). */
  readonly pathProblem: string | undefined;
  /** The request target as received: path and query string. */
  readonly url: string;
  /** Route parameters, percent-decoded: typed from the route's path (`/users/:id`: `id`). */
  params: Params = {} as Params;
  readonly id: string;
  /**
   * Headers added to whatever response this request gets (result, stream or error): how a
   * middleware sets CORS or cache headers. Holds `x-request-id` from the start.
   */
  readonly responseHeaders: Record<string, string | string[]>;
  /** The route pattern that matched (`/users/:id`), once routed. */
  routePath: string | undefined;
  /**
   * Node's request, for what sluice does not wrap: node:http's IncomingMessage, or over HTTP/2
   * node:http2's Http2ServerRequest (whose `httpVersion` is "2.0").
   */
  readonly raw: NodeRequest;
  /** The response this request is answered on; let go of once upgraded to a WebSocket. */
  #httpResponse: NodeResponse | undefined;

  /** @internal the stream being sent in answer, told when the request aborts. */
  abortListener: AbortListener | undefined;

  readonly #context: RequestContext;
  #stateCache: Record<string, unknown> | undefined;
  #queryCache: URLSearchParams | undefined;
  /** Parts a route's schemas validated: only routes with schemas make this object. */
  #validated: { query?: unknown; headers?: unknown; body?: unknown } | undefined;
  #logCache: Logger | undefined;
  #controller: AbortController | undefined;
  #abortReason: RequestAbortedError | undefined;
  #bodyCache: Promise<Buffer> | undefined;
  /** The body was refused (too large, or the read failed). */
  #bodyRefused = false;

  constructor(raw: NodeRequest, response: NodeResponse, id: string, context: RequestContext) {
    this.raw = raw;
    this.#httpResponse = response;
    this.#context = context;
    this.id = id;
    this.responseHeaders = { [context.requestIdHeader]: id };
    // A WebSocket handshake reads as the GET it is over HTTP/1.1 (RFC 8441 puts CONNECT in
    // its place over h2): routes, middleware and logs see one kind of request.
    this.method = isH2WebSocketConnect(raw) ? "GET" : (raw.method ?? "GET");
    this.url = originForm(raw.url ?? "/");
    const queryStart = this.url.indexOf("?");
    const received = queryStart === -1 ? this.url : this.url.slice(0, queryStart);
    const canonical = canonicalPath(received);
    this.path = canonical.problem === undefined ? canonical.path : received;
    this.pathProblem = canonical.problem;
  }

  /** @internal the response this request is answered on (none once upgraded). */
  get response(): NodeResponse {
    if (this.#httpResponse === undefined) {
      throw new Error("internal: an upgraded request has no HTTP response");
    }
    return this.#httpResponse;
  }

  /**
   * @internal the HTTP/1.1 request of a WebSocket upgrade (an h2 WebSocket's handshake is a
   * CONNECT on its stream: see websocket/upgrade-channel.ts).
   */
  get upgradeRaw(): IncomingMessage {
    if (isHttp2Request(this.raw)) throw new Error("internal: an h2 request is not an upgrade");
    return this.raw;
  }

  /** @internal true once the whole response is out (never for an upgraded request). */
  get responseFinished(): boolean {
    const response = this.#httpResponse;
    return response?.writableFinished === true && !closedIncomplete(response);
  }

  /**
   * @internal the socket now belongs to a WebSocket: the ServerResponse made for a possible
   * refusal is let go of, not kept for the connection's lifetime.
   */
  releaseResponse(): void {
    this.#httpResponse = undefined;
  }

  /**
   * The query string's parameters. On a route with a `query` schema, the schema's output
   * instead (its type says so: see ValidatedRequest), for middleware after `next()` too: read
   * it before `next()` (or parse `url`) to get the raw parameters.
   */
  get query(): URLSearchParams {
    if (this.#validated !== undefined && "query" in this.#validated) {
      return this.#validated.query as URLSearchParams;
    }
    if (!this.#queryCache) {
      const queryStart = this.url.indexOf("?");
      this.#queryCache = new URLSearchParams(
        queryStart === -1 ? "" : this.url.slice(queryStart + 1),
      );
    }
    return this.#queryCache;
  }

  /** Per-request record for middleware to pass values on (the user, a tenant...). */
  get state(): State {
    this.#stateCache ??= {};
    return this.#stateCache as State;
  }

  /**
   * Lower-case header names, as Node gives them. On a route with a `headers` schema, the
   * schema's output over a copy of them (the headers it does not declare stay as they were).
   */
  get headers(): IncomingHttpHeaders {
    if (this.#validated !== undefined && "headers" in this.#validated) {
      return this.#validated.headers as IncomingHttpHeaders;
    }
    return this.raw.headers;
  }

  /**
   * @internal The body as the route's `body` schema gave it back (undefined on a route with
   * none): ValidatedRequest types it, a request of a route without schemas has no `body`.
   */
  get body(): unknown {
    return this.#validated?.body;
  }

  /**
   * @internal What a route's schema made of a part of the request (`params` is set on the
   * field itself): `query`, `headers` and `body` then return it.
   */
  setValidated(part: "query" | "headers" | "body", value: unknown): void {
    this.#validated ??= {};
    this.#validated[part] = value;
  }

  /** A header by case-insensitive name; repeated headers are joined with ", ". */
  header(name: string): string | undefined {
    const value = this.raw.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(", ") : value;
  }

  /** The peer's address. */
  get ip(): string | undefined {
    return this.raw.socket.remoteAddress;
  }

  /** A child logger that stamps every line with this request's id. */
  get log(): Logger {
    this.#logCache ??= this.#context.logger.child({ reqId: this.id });
    return this.#logCache;
  }

  /** Aborts when the client disconnects or the app closes. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** True once the client has gone away before the response was complete. */
  async isDisconnected(): Promise<boolean> {
    return this.#abortReason?.reason === "client-disconnected" || this.#connectionLost();
  }

  /**
   * Sets a header on the response this request will get (case-insensitive name). `set-cookie`
   * values add up: the handler's cookies and the middleware's are all sent.
   */
  setResponseHeader(name: string, value: string | string[]): void {
    const key = name.toLowerCase();
    const previous = this.responseHeaders[key];
    this.responseHeaders[key] =
      key === "set-cookie" && previous !== undefined ? [previous, value].flat() : value;
  }

  /** The body, read once (later calls share it); 413 past `bodyLimit`. */
  bytes(): Promise<Buffer> {
    this.#bodyCache ??= this.#readBodyOnce();
    return this.#bodyCache;
  }

  /**
   * The `Last-Event-ID` header an EventSource sends when it reconnects (SSE). Browsers send
   * it UTF-8 encoded and Node reads header bytes as Latin-1: a non-ASCII id is decoded back.
   * One longer than 1024 bytes throws a 400 HttpError (read it before the first `yield`).
   */
  get lastEventId(): string | undefined {
    const value = this.raw.headers["last-event-id"];
    if (typeof value !== "string") return undefined;
    // Latin-1 as Node read it: one character per byte received.
    if (value.length > MAX_LAST_EVENT_ID_BYTES) {
      throw new HttpError(
        400,
        `Last-Event-ID is too long: ${value.length} bytes, at most ${MAX_LAST_EVENT_ID_BYTES} are accepted`,
      );
    }
    return NON_ASCII.test(value) ? decodeUtf8OrKeep(value) : value;
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString("utf8");
  }

  /**
   * The body parsed as JSON; 400 if empty, malformed, or (unless `protoKeys` says otherwise)
   * holding `__proto__` / `constructor.prototype` keys.
   */
  async json<T = unknown>(options?: JsonParseOptions): Promise<T> {
    return parseJsonBody(await this.bytes(), options) as T;
  }

  /**
   * @internal True when the client is still sending a body nobody read that is too large (or
   * of unknown size) to be skipped: the connection is closed after the response rather than
   * reading it all just to keep the connection alive.
   */
  get unreadBodyBlocksConnection(): boolean {
    if (this.raw.complete || !declaresBody(this.raw)) return false;
    if (this.#bodyCache) return this.#bodyRefused;
    const declared = Number(this.raw.headers["content-length"]);
    return !(Number.isFinite(declared) && declared <= this.#context.bodyLimit);
  }

  async #readBodyOnce(): Promise<Buffer> {
    if (this.#httpResponse?.writableEnded && declaresBody(this.raw)) {
      throw new Error(
        "The request body can no longer be read: the response was already sent and Node discarded the unread body. Read it before answering.",
      );
    }
    try {
      return await readBody(this.raw, this.#context.bodyLimit);
    } catch (error) {
      this.#bodyRefused = true;
      throw error;
    }
  }

  /** @internal the client went away or the app is closing: the signal and the stream learn it. */
  abort(reason: RequestAbortedError["reason"]): void {
    if (this.#abortReason) return;
    this.#abortReason = new RequestAbortedError(reason);
    this.#controller?.abort(this.#abortReason);
    this.abortListener?.requestAborted();
  }

  /** @internal see RequestContext.sendTimeout. */
  get sendTimeout(): number {
    return this.#context.sendTimeout;
  }

  /** @internal the App's counters, for what a stream or socket counts itself. */
  get counters(): TrafficCounters {
    return this.#context.counters;
  }

  /** @internal the app-wide count of open streams, kept by the stream pump. */
  get openStreams(): OpenStreamCounts {
    return this.#context.openStreams;
  }

  /** @internal why the signal aborted, if it did. */
  get abortedBecause(): RequestAbortedError["reason"] | undefined {
    return this.#abortReason?.reason;
  }

  #connectionLost(): boolean {
    const socket = this.raw.socket;
    return !this.responseFinished && (socket === null || socket.destroyed);
  }
}

/** `http://host/path?q` (absolute-form, which HTTP/1.1 servers must accept) -> `/path?q`. */
function originForm(target: string): string {
  if (target.startsWith("/")) return target;
  const match = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!match) return target;
  const rest = target.slice(match[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}
