import { recordCredentials } from "../http/credentials.js";
import type { Middleware } from "../http/middleware-chain.js";
import type { SluiceRequest } from "../http/request.js";
import { isWebSocketHandshake } from "../http/websocket-handshake.js";
import { markAuthSubprotocol, noteAuthSubprotocol } from "../websocket/auth-subprotocol.js";
import { checkRealm, unauthorized, type Verified } from "./auth-challenge.js";
import { B64TOKEN, type TokenAuthExtras, TokenCheck } from "./token-check.js";

export interface BearerAuthOptions<P = unknown> {
  /**
   * Checks a token. Return the principal (any truthy value: a user, the token's claims...),
   * stored in `req.state.auth`, or a falsy value to refuse with 401. A thrown error refuses
   * with 401 too (logged at debug level), except an `HttpError`, which is answered as is (a
   * 403, or a 503 when the identity provider is down); a thrown 401 gets the challenge added.
   */
  verify: (token: string, request: SluiceRequest) => Verified<P> | Promise<Verified<P>>;
  /** The `realm` of the `WWW-Authenticate` challenge. Default "api". */
  realm?: string;
  /**
   * Also take the token from this query parameter (`"access_token"`, as RFC 6750 names it),
   * for EventSource and WebSocket clients, which cannot set headers. Off by default: a URL
   * ends up in access logs, proxies and browser history, so prefer short-lived tokens there.
   */
  queryParam?: string;
  /**
   * Also take the token from the WebSocket subprotocol list of an upgrade request: the
   * client offers `[subprotocol, token]` (`new WebSocket(url, ["bearer", token])`) and the
   * token is the entry right after this marker. Off by default. See `bearerAuth`.
   */
  subprotocol?: string;
  /**
   * When the credentials stop being valid (a Date, or ms since the epoch; undefined: never).
   * An SSE stream opened with them is ended then (after a last `event: expired`), another
   * streamed response cut short, a WebSocket closed with 4001 unless refreshed (`socket.refreshAuth(token)`, the real-time protocol's
   * `refresh`). Default: a principal with a numeric `exp` claim (seconds, as JWTs have)
   * expires then; any other never does. A token already expired is refused with 401.
   */
  expiresAt?: (principal: P) => Date | number | undefined;
  /**
   * Who a principal is, so that a refresh keeps the connection's user: a refreshed token
   * whose principal has another subject is refused (401). Default: a string principal itself,
   * or an object's `sub` claim with its `iss`. When the connection's principal has none (the
   * function returns undefined), every refresh is refused.
   */
  subjectOf?: (principal: P) => string | undefined;
}

/** An auth-scheme (RFC 9110 token) and what follows it. */
const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;
/** A subprotocol name (RFC 6455 token): what a marker must be, so a client can offer it. */
const PROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type Found =
  | { kind: "none" }
  | { kind: "token"; token: string }
  | { kind: "malformed"; message: string };

/**
 * Middleware that requires a bearer token (RFC 6750) and stores what `verify` returned in
 * `req.state.auth`. It runs, like all middleware, before HTTP routes, SSE routes and the
 * WebSocket upgrade; a refusal is an HTTP 401 in every case (no socket is opened), with
 * `WWW-Authenticate: Bearer realm="api"`, plus `error="invalid_request"` for a malformed
 * credential (`Bearer` with no token, a token with spaces in it, a token sent more than one
 * way) or `error="invalid_token"` when `verify` refused the token. Another scheme
 * (`Authorization: Basic ...`) counts as no token.
 *
 * ```ts
 * app.use(bearerAuth({ verify: (token) => sessions.get(token), queryParam: "access_token" }));
 * app.get("/me", (req) => req.state.auth);
 * ```
 *
 * Browsers cannot set headers on an EventSource or a WebSocket. For EventSource, use
 * `queryParam` (`new EventSource("/events?access_token=...")`). For WebSockets, the
 * subprotocol list is the one thing a browser lets you set, and unlike the URL it is not
 * logged by proxies: with `subprotocol: "bearer"` the client offers the marker followed by
 * the token,
 *
 * ```ts
 * const ws = new WebSocket("wss://host/ws", ["bearer", token]); // the token: [A-Za-z0-9._~+-]
 * app.use(bearerAuth({ verify, subprotocol: "bearer" }));
 * app.websocket("/ws", { protocols: ["bearer"] }, handler); // or ["chat.v1", "bearer"]
 * ```
 *
 * and the route must list the marker in its `protocols`: sluice selects the first offered
 * protocol the route speaks, so it answers `Sec-WebSocket-Protocol: bearer` and never the
 * token (which the route does not list). Without it the server selects nothing, and
 * browsers and `ws` fail a handshake in which they offered protocols and got none back. A
 * client that speaks a real subprotocol offers it too (`["chat.v1", "bearer", token]`) and the
 * route lists it first. The token must consist of characters a subprotocol name may hold
 * (a JWT does; standard base64 with `/` or `=` does not).
 *
 * Credentials expire (`expiresAt`; by default a principal's numeric `exp` claim): an SSE
 * stream they opened ends then, after a last `event: expired`, and a WebSocket is closed with
 * 4001 unless `socket.refreshAuth(token)` brought a new token in time (verified by this same
 * `verify`, for the same subject: see `subjectOf`).
 *
 * To guard some paths only, scope it: `app.use("/api/*", auth)`, or `g.use(auth)` in an
 * `app.group("/api", (g) => ...)`; and register CORS middleware before it so preflight
 * requests (which carry no credentials) pass.
 *
 * Its type carries the principal's: `app.use(bearerAuth<User>({ verify })).get("/me", (req)
 * => req.state.auth)` gives `User` (chained; see `App` for the `new App<{ auth: User }>()`
 * form). The principal is what `verify` returned: nothing checks it against the type.
 */
export function bearerAuth<P>(options: BearerAuthOptions<P>): Middleware<{ auth: P }> {
  return tokenAuth("bearerAuth", options, {});
}

/** @internal bearerAuth, with what jwtAuth adds (`extras`) and its name in errors. */
export function tokenAuth<P>(
  where: string,
  options: BearerAuthOptions<P>,
  extras: TokenAuthExtras<P>,
): Middleware<{ auth: P }> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${where}: options must be an object`);
  }
  const { verify, queryParam, subprotocol, expiresAt, subjectOf } = options;
  if (typeof verify !== "function") throw new TypeError(`${where}: verify must be a function`);
  const realm = checkRealm(where, options.realm ?? "api");
  if (queryParam !== undefined && (typeof queryParam !== "string" || queryParam === "")) {
    throw new TypeError(`${where}: queryParam must be a non-empty string`);
  }
  if (
    subprotocol !== undefined &&
    (typeof subprotocol !== "string" || !PROTOCOL_TOKEN.test(subprotocol))
  ) {
    throw new TypeError(`${where}: subprotocol must be a valid subprotocol name, like "bearer"`);
  }
  if (expiresAt !== undefined && typeof expiresAt !== "function") {
    throw new TypeError(
      `${where}: expiresAt must be a function (principal) => Date | ms | undefined`,
    );
  }
  if (subjectOf !== undefined && typeof subjectOf !== "function") {
    throw new TypeError(`${where}: subjectOf must be a function (principal) => string | undefined`);
  }
  const check = new TokenCheck<P>(verify, realm, expiresAt, extras, subjectOf);

  const middleware: Middleware<{ auth: P }> = async (req, next) => {
    const found = findToken(req, queryParam, subprotocol);
    if (found.kind === "none") {
      throw unauthorized("A bearer token is required", "Bearer", { realm });
    }
    if (found.kind === "malformed") {
      throw unauthorized(found.message, "Bearer", {
        realm,
        error: "invalid_request",
        error_description: found.message,
      });
    }
    const credentials = await check.accept(found.token, req);
    req.state.auth = credentials.principal as P;
    recordCredentials(req, credentials);
    return next();
  };
  // Lets the app check at startup that WebSocket routes behind it list the marker.
  return subprotocol === undefined ? middleware : markAuthSubprotocol(middleware, subprotocol);
}

/** The token from the places the options allow; more than one is a malformed request. */
function findToken(
  req: SluiceRequest,
  queryParam: string | undefined,
  subprotocol: string | undefined,
): Found {
  const found = [fromHeader(req)];
  if (queryParam !== undefined) found.push(fromQuery(req, queryParam));
  if (subprotocol !== undefined) found.push(fromSubprotocols(req, subprotocol));
  const malformed = found.find((one) => one.kind === "malformed");
  if (malformed) return malformed;
  const tokens = found.filter((one) => one.kind === "token");
  if (tokens.length > 1) {
    return { kind: "malformed", message: "Send the bearer token one way only" };
  }
  return tokens[0] ?? { kind: "none" };
}

/** `Authorization: Bearer <token>`: the scheme in any case, one or more spaces, one token. */
function fromHeader(req: SluiceRequest): Found {
  const header = req.header("authorization");
  if (header === undefined || header === "") return { kind: "none" };
  const match = CREDENTIALS.exec(header);
  if (!match) {
    // Not even a scheme: `Bearer` cannot be told apart from noise, so say what is expected.
    return /^bearer\b/i.test(header)
      ? { kind: "malformed", message: "Malformed bearer credentials" }
      : { kind: "none" };
  }
  if (match[1].toLowerCase() !== "bearer") return { kind: "none" };
  const token = match[2];
  if (token === undefined || token === "") {
    return { kind: "malformed", message: "The Bearer scheme was sent without a token" };
  }
  if (!B64TOKEN.test(token)) {
    return { kind: "malformed", message: "Malformed bearer token" };
  }
  return { kind: "token", token };
}

function fromQuery(req: SluiceRequest, name: string): Found {
  const values = req.query.getAll(name);
  if (values.length === 0) return { kind: "none" };
  if (values.length > 1) {
    return { kind: "malformed", message: `The ${name} query parameter was sent more than once` };
  }
  if (!B64TOKEN.test(values[0])) {
    return { kind: "malformed", message: `Malformed bearer token in the ${name} query parameter` };
  }
  return { kind: "token", token: values[0] };
}

/** `Sec-WebSocket-Protocol: <marker>, <token>` on a WebSocket upgrade. */
function fromSubprotocols(req: SluiceRequest, marker: string): Found {
  if (!isWebSocketHandshake(req.raw)) return { kind: "none" };
  // The route must list the marker: its checks warn when it does not (see auth-subprotocol).
  noteAuthSubprotocol(req, marker);
  const header = req.header("sec-websocket-protocol");
  if (!header) return { kind: "none" };
  const offered = header.split(",").map((name) => name.trim());
  const at = offered.indexOf(marker);
  if (at === -1) return { kind: "none" };
  const token = offered[at + 1];
  if (token === undefined || token === "" || !B64TOKEN.test(token)) {
    return {
      kind: "malformed",
      message: `The ${marker} subprotocol must be followed by the token in the protocol list`,
    };
  }
  return { kind: "token", token };
}
