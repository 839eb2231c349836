// Sign-in with a name, kept in a server-side session (sessions.ts), checked by app middleware
// before every handler: HTTP routes, the SSE stream and the WebSocket upgrade alike.
//
// Two ways to prove who you are:
//  - the `sluice_session` cookie, set by POST /api/signin: a random session id the server
//    looks up. Browsers send same-origin cookies with fetch, EventSource and WebSocket
//    handshakes, which is what makes this work: neither EventSource nor WebSocket lets a
//    page set an Authorization header. POST /api/signout deletes the session: the cookie,
//    and any copy of it, is refused from then on.
//  - a short-lived token (60 s) in the query string, `?token=...`, for clients that cannot
//    use cookies (another origin, a script). GET /api/token mints one for a cookie holder, and
//    POST /api/signin returns one too. It names its session, so it dies with it (sign-out),
//    and it is only checked when a connection opens: an EventSource or WebSocket opened with
//    it stays open after it expires (not after sign-out: see Sessions.endingOf), but needs a
//    fresh token to reconnect. URLs end up in logs and proxies, hence the short life; a token
//    cannot mint another token, so one that leaks cannot be kept alive.
//
// A token is `<payload>.<mac>`: payload = base64url(JSON {n: name, k: session key, e: expiry
// ms}), mac = HMAC-SHA256(secret, "token:" + payload).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { HttpError, type Middleware, type SluiceRequest } from "sluice";
import { SESSION_TTL_MS, type Session, type Sessions } from "./sessions.js";

export const COOKIE_NAME = "sluice_session";
export const TOKEN_TTL_MS = 60_000;
/** Longest signed value accepted: anything longer is not ours, and is not worth a MAC. */
const MAX_SIGNED_LENGTH = 512;
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;
export const MAX_NAME_LENGTH = 24;

/** A display name as typed (trimmed, NFC), or undefined when it is not an acceptable one. */
export function validName(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.trim().normalize("NFC");
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME.test(name)) return undefined;
  return name;
}

/** The secret to sign with: SLUICE_SECRET, or a random one (tokens then end with the process). */
export function secretFromEnv(): string {
  return process.env.SLUICE_SECRET || randomBytes(32).toString("base64url");
}

/** What a token says: who, and in which session. */
export interface TokenClaims {
  name: string;
  session: string;
}

/** Signs and checks the query-string tokens. */
export class Signer {
  constructor(private readonly secret: string) {
    if (secret.length < 16) throw new TypeError("The signing secret needs 16 characters or more");
  }

  sign(claims: TokenClaims, ttlMs: number, now = Date.now()): string {
    const json = JSON.stringify({ n: claims.name, k: claims.session, e: now + ttlMs });
    const payload = Buffer.from(json).toString("base64url");
    return `${payload}.${this.mac(payload)}`;
  }

  /** What a token claims, if its MAC is right, it has not expired, and the name is valid. */
  verify(value: string | null | undefined, now = Date.now()): TokenClaims | undefined {
    if (!value || value.length > MAX_SIGNED_LENGTH) return undefined;
    const dot = value.indexOf(".");
    if (dot <= 0) return undefined;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.mac(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const { n, k, e } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      if (typeof e !== "number" || e <= now || typeof k !== "string") return undefined;
      return validName(n) === n ? { name: n, session: k } : undefined;
    } catch {
      return undefined;
    }
  }

  private mac(payload: string): string {
    return createHmac("sha256", this.secret).update(`token:${payload}`).digest("base64url");
  }
}

/** The Set-Cookie value that carries a session id (or, with none, clears the cookie). */
export function sessionCookie(id?: string): string {
  // Behind HTTPS, add `Secure`. SameSite=Lax: not sent on cross-site subrequests, which also
  // keeps other sites from opening a WebSocket in the visitor's name.
  const attributes = "Path=/; HttpOnly; SameSite=Lax";
  if (id === undefined) return `${COOKIE_NAME}=; ${attributes}; Max-Age=0`;
  return `${COOKIE_NAME}=${id}; ${attributes}; Max-Age=${SESSION_TTL_MS / 1000}`;
}

export function readCookie(req: SluiceRequest, name: string): string | undefined {
  for (const part of (req.header("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface Identity {
  session: Session;
  via: "cookie" | "token";
}

/** Who sent the request: the session cookie first, then a `?token=` of a session still open. */
export function identify(
  sessions: Sessions,
  signer: Signer,
  req: SluiceRequest,
): Identity | undefined {
  const fromCookie = sessions.find(readCookie(req, COOKIE_NAME));
  if (fromCookie) return { session: fromCookie, via: "cookie" };
  const claims = signer.verify(req.query.get("token"));
  const fromToken = claims && sessions.get(claims.session);
  if (fromToken && fromToken.name === claims.name) return { session: fromToken, via: "token" };
  return undefined;
}

/**
 * Sets `req.state.user`, `req.state.session` and `req.state.authVia` for a signed-in visitor,
 * and refuses everyone else with 401 unless `isPublic(req)`: an allow-list, so a path it
 * does not list exactly (a new route, a percent-encoded spelling of a public one) needs
 * sign-in. It runs before the WebSocket upgrade too, so an anonymous upgrade gets an HTTP
 * 401 and no socket.
 */
export function requireSignIn(
  sessions: Sessions,
  signer: Signer,
  isPublic: (req: SluiceRequest) => boolean,
): Middleware {
  return async (req, next) => {
    await sessions.ready;
    const identity = identify(sessions, signer, req);
    if (identity) {
      req.state.user = identity.session.name;
      req.state.session = identity.session;
      req.state.authVia = identity.via;
    } else if (!isPublic(req)) {
      throw new HttpError(401, "Sign in first (cookie from POST /api/signin, or ?token=)");
    }
    return next();
  };
}
