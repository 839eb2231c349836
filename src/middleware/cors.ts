import type { OutgoingHttpHeaders } from "node:http";
import { HttpError } from "../http/http-error.js";
import { HttpResponse } from "../http/http-response.js";
import type { Middleware, Next } from "../http/middleware-chain.js";
import { isWellFormedOrigin } from "../http/origin-pattern.js";
import type { SluiceRequest } from "../http/request.js";
import { StreamingResponse } from "../http/streaming-response.js";
import { isH2WebSocketConnect } from "../http/websocket-handshake.js";
import { isPromiseLike } from "../util/is-promise-like.js";
import { type CorsOrigin, type OriginResolver, originResolver } from "./cors-origin.js";

export type { CorsOriginDecision, CorsOriginFunction } from "./cors-origin.js";

export interface CorsOptions {
  /**
   * Who may read responses: `"*"` (the default: anyone), one origin
   * (`"https://app.example"`), a list of them, origin patterns among them
   * (`"http://localhost:*"`: any port; `"https://*.example.com"`: any subdomain, not the
   * domain itself; `*` goes nowhere else, and a malformed pattern throws a TypeError), a
   * RegExp tested on the `Origin` header (anchor it:
   * `/^https:\/\/[a-z0-9-]+\.example\.com$/`, not `/example\.com/`), or a function
   * `(origin, req) => boolean | string` (sync or async; a string is sent as the header's
   * value). Listed origins are normalised (`https://App.example/` -> `https://app.example`)
   * and compared case-insensitively. The `Origin` `null` (sandboxed iframes, `file:` pages)
   * is allowed only when listed, matched by your RegExp or accepted by your function (or by
   * `"*"`), and never with `credentials`. A malformed or overlong `Origin` is never allowed,
   * nor passed to the function. Required (and not `"*"`) with `credentials`.
   */
  origin?: CorsOrigin;
  /**
   * Sends `Access-Control-Allow-Credentials: true`: cookies and HTTP auth go along with
   * cross-origin requests (`fetch(..., { credentials: "include" })`,
   * `new EventSource(url, { withCredentials: true })`). Needs an explicit `origin` (an
   * origin, a list, a RegExp or a function; not `"*"`, not left out): `cors()` throws
   * otherwise. The allowed origin is echoed, never `*` (browsers refuse `*` with
   * credentials; a function's `"*"` answer echoes too). The `Origin` `null` is never
   * allowed: listing it throws, and a RegExp or function never gets to allow it.
   */
  credentials?: boolean;
  /** Methods preflights allow. Default GET, HEAD, PUT, PATCH, POST, DELETE. */
  methods?: string | readonly string[];
  /**
   * Request headers preflights allow. Default: the ones the browser asks for
   * (`Access-Control-Request-Headers` is echoed). A list given here always gets
   * `Last-Event-ID` added, which fetch-based SSE clients send when they resume a stream.
   */
  allowedHeaders?: string | readonly string[];
  /**
   * Response headers a page's script may read beyond the safelisted ones (content-type,
   * cache-control, content-length...): `["x-request-id"]`, say. Default none. EventSource
   * gives scripts no headers at all; fetch-based stream and SSE readers see `content-type`
   * without this.
   */
  exposedHeaders?: string | readonly string[];
  /** How long (seconds) a browser may cache a preflight's answer: `Access-Control-Max-Age`. */
  maxAge?: number;
}

const OPTION_NAMES = new Set([
  "origin",
  "credentials",
  "methods",
  "allowedHeaders",
  "exposedHeaders",
  "maxAge",
]);
/** Names other frameworks use, so a copied config fails loudly instead of doing nothing. */
const OPTION_ALIASES: Record<string, string> = {
  origins: "origin",
  allowOrigin: "origin",
  allowMethods: "methods",
  allowHeaders: "allowedHeaders",
  exposeHeaders: "exposedHeaders",
  allowCredentials: "credentials",
};

const DEFAULT_METHODS = "GET, HEAD, PUT, PATCH, POST, DELETE";
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Cross-Origin Resource Sharing: lets pages on other origins read this app's responses,
 * JSON, streams and SSE alike. Register it first (`app.use(cors(...))`, before auth), so
 * preflights and refusals get its headers too.
 *
 * - Preflights (OPTIONS with `Origin` and `Access-Control-Request-Method`) are answered 204
 *   here, before routing: they work on every path, SSE routes (GET only) included, and never
 *   reach your handlers or later middleware. A disallowed origin's preflight gets a 204
 *   without CORS headers. A plain OPTIONS goes on to the app as usual. They allow exactly
 *   the configured `methods` (never the one asked for, never `*` with credentials).
 * - `credentials: true` throws unless `origin` names who is trusted (not `"*"`), and never
 *   allows the `Origin` `null`.
 * - Other requests get `Access-Control-Allow-Origin` (with `Vary: Origin` unless it is a
 *   plain `*`), `Access-Control-Allow-Credentials` and `Access-Control-Expose-Headers`
 *   through `req.setResponseHeader`, so they are on every answer: JSON, streams and SSE
 *   heads (flushed at once, so `EventSource` opens) and errors (401, 404, 500...), which
 *   the page can then read. A `Vary` the handler or an HttpError sets is kept alongside.
 * - CORS is not access control: a disallowed origin only gets no CORS headers, so the
 *   browser hides the answer from the page; the request itself still runs (as in other
 *   frameworks), and non-browser clients are not affected at all. Check credentials in
 *   your own middleware.
 * - WebSockets: browsers do not apply CORS to them, so upgrade requests pass through
 *   untouched. Give `app.websocket()` routes their own `origins` option to refuse other
 *   sites' pages (cross-site WebSocket hijacking).
 *
 * @example
 * app.use(cors({ origin: ["https://app.example"], credentials: true }));
 */
export function cors(options: CorsOptions = {}): Middleware {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("cors() takes an options object");
  }
  for (const name of Object.keys(options)) {
    if (OPTION_NAMES.has(name)) continue;
    const alias = OPTION_ALIASES[name];
    throw new TypeError(
      `cors(): unknown option "${name}"${alias ? ` (did you mean "${alias}"?)` : ""}`,
    );
  }
  const credentials = options.credentials ?? false;
  if (typeof credentials !== "boolean")
    throw new TypeError("cors(): credentials must be a boolean");
  const origin = options.origin ?? "*";
  if (credentials && origin === "*") {
    throw new TypeError(
      `cors(): credentials: true needs an explicit origin (${
        options.origin === undefined ? "none was given" : 'not "*"'
      }): otherwise every site's pages may read answers sent with their visitors' cookies. ` +
        'Name the sites: cors({ origin: ["https://app.example"], credentials: true }), or pass ' +
        "a RegExp or a function (origin, req) => boolean deciding per origin",
    );
  }
  const anyOrigin = origin === "*";
  /** The answer depends on the `Origin` header: every response says so with `Vary: Origin`. */
  const variesByOrigin = !anyOrigin || credentials;
  const resolveOrigin = originResolver(origin, credentials);

  const methods =
    options.methods === undefined
      ? DEFAULT_METHODS
      : tokenList("methods", options.methods, credentials, (method) => method.toUpperCase());
  const allowedHeaders =
    options.allowedHeaders === undefined
      ? undefined
      : withLastEventId(tokenList("allowedHeaders", options.allowedHeaders, credentials));
  const exposedHeaders =
    options.exposedHeaders === undefined
      ? ""
      : tokenList("exposedHeaders", options.exposedHeaders, credentials);
  const maxAge = options.maxAge === undefined ? undefined : seconds(options.maxAge);

  const preflight = (request: SluiceRequest, allowed: string | undefined): HttpResponse => {
    const vary = ["Access-Control-Request-Method"];
    if (variesByOrigin) vary.unshift("Origin");
    if (allowed !== undefined) {
      request.setResponseHeader("access-control-allow-origin", allowed);
      if (credentials) request.setResponseHeader("access-control-allow-credentials", "true");
      request.setResponseHeader("access-control-allow-methods", methods);
      const headers = allowedHeaders ?? echoedHeaders(request);
      if (allowedHeaders === undefined) vary.push("Access-Control-Request-Headers");
      if (headers) request.setResponseHeader("access-control-allow-headers", headers);
      if (maxAge !== undefined) request.setResponseHeader("access-control-max-age", maxAge);
    }
    addVary(request, vary);
    return HttpResponse.empty(204);
  };

  const actual = (request: SluiceRequest, next: Next, allowed: string | undefined): unknown => {
    if (allowed !== undefined) {
      request.setResponseHeader("access-control-allow-origin", allowed);
      if (credentials) request.setResponseHeader("access-control-allow-credentials", "true");
      if (exposedHeaders)
        request.setResponseHeader("access-control-expose-headers", exposedHeaders);
    }
    if (!variesByOrigin) return next();
    addVary(request, ORIGIN);
    // The app's request headers win over the handler's, so the handler's own Vary
    // (Accept-Encoding, say) is folded into ours rather than replaced by it.
    return next().then(
      (result) => {
        addVary(request, varyOf(result), ORIGIN);
        return result;
      },
      (error: unknown) => {
        addVary(request, varyOf(error), ORIGIN);
        throw error;
      },
    );
  };

  return (request, next) => {
    if (isWebSocketUpgrade(request)) return next();
    const header = request.header("origin");
    const isPreflight =
      request.method === "OPTIONS" &&
      header !== undefined &&
      request.headers["access-control-request-method"] !== undefined;
    const allowed = decide(request, header, anyOrigin, resolveOrigin);
    if (isPromiseLike(allowed)) {
      return Promise.resolve(allowed).then((value) =>
        isPreflight ? preflight(request, value) : actual(request, next, value),
      );
    }
    return isPreflight ? preflight(request, allowed) : actual(request, next, allowed);
  };
}

const ORIGIN = ["Origin"];

/** The Access-Control-Allow-Origin value for this request, or undefined for none. */
function decide(
  request: SluiceRequest,
  header: string | undefined,
  plainStar: boolean,
  resolve: OriginResolver,
): string | undefined | PromiseLike<string | undefined> {
  if (plainStar) return "*"; // the same answer for everyone, Origin or not
  if (header === undefined || !isWellFormedOrigin(header)) return undefined;
  return resolve(header, request);
}

function tokenList(
  name: string,
  value: string | readonly string[],
  credentials: boolean,
  normalise: (token: string) => string = (token) => token,
): string {
  if (typeof value !== "string" && !Array.isArray(value)) {
    throw new TypeError(`cors(): ${name} must be a string or an array of strings`);
  }
  const items: readonly unknown[] = typeof value === "string" ? value.split(",") : value;
  const tokens: string[] = [];
  for (const item of items) {
    const token = typeof item === "string" ? item.trim() : item;
    if (typeof token !== "string" || !(TOKEN.test(token) || token === "*")) {
      throw new TypeError(`cors(): ${name} has an invalid entry ${JSON.stringify(item)}`);
    }
    if (token === "*" && credentials) {
      throw new TypeError(
        `cors(): ${name} "*" is a wildcard only without credentials (browsers take it as a name then); list them`,
      );
    }
    tokens.push(normalise(token));
  }
  return tokens.join(", ");
}

function withLastEventId(headers: string): string {
  if (headers.split(", ").some((name) => name === "*" || name.toLowerCase() === "last-event-id")) {
    return headers;
  }
  return headers ? `${headers}, Last-Event-ID` : "Last-Event-ID";
}

function seconds(value: unknown): string {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`cors(): maxAge must be a whole number of seconds (>= 0), got ${value}`);
  }
  return String(value);
}

/** The request headers a preflight asks for, when they are a well-formed list of names. */
function echoedHeaders(request: SluiceRequest): string | undefined {
  const asked = request.header("access-control-request-headers");
  if (asked === undefined) return undefined;
  const names = asked
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  return names.length > 0 && names.every((name) => TOKEN.test(name)) ? names.join(", ") : undefined;
}

/** Adds names to the request's `Vary` response header, once each (`*` stays alone). */
function addVary(request: SluiceRequest, ...lists: (readonly string[] | undefined)[]): void {
  const names = splitVary(request.responseHeaders.vary);
  const seen = new Set(names.map((name) => name.toLowerCase()));
  for (const list of lists) {
    for (const name of list ?? []) {
      if (seen.has(name.toLowerCase())) continue;
      seen.add(name.toLowerCase());
      names.push(name);
    }
  }
  if (names.length === 0) return;
  request.setResponseHeader("vary", seen.has("*") ? "*" : names.join(", "));
}

function splitVary(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const joined = Array.isArray(value) ? value.join(",") : String(value);
  return joined
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
}

/** The `Vary` a handler's result or error carries itself (it would otherwise be overwritten). */
function varyOf(value: unknown): string[] | undefined {
  if (value instanceof HttpResponse || value instanceof StreamingResponse) {
    return splitVary(headerIn(value.headers, "vary"));
  }
  if (value instanceof HttpError) return splitVary(headerIn(value.headers, "vary"));
  if (value instanceof Response) return splitVary(value.headers.get("vary") ?? undefined);
  return undefined;
}

function headerIn(headers: OutgoingHttpHeaders, name: string): unknown {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** Browsers do not use CORS for WebSockets; their upgrade requests are none of this middleware's business. */
function isWebSocketUpgrade(request: SluiceRequest): boolean {
  if (isH2WebSocketConnect(request.raw)) return true;
  const upgrade = request.headers.upgrade;
  return upgrade !== undefined && /\bwebsocket\b/i.test(upgrade);
}
