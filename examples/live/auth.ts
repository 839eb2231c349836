// Sign-in with a name, kept in an HMAC-signed cookie, checked by app middleware before every
// handler: HTTP routes, the SSE stream and the WebSocket upgrade alike.
//
// Two ways to prove who you are:
//  - the `sluice_session` cookie, set by POST /api/signin. Browsers send same-origin cookies
//    with fetch, EventSource and WebSocket handshakes, which is what makes this work: neither
//    EventSource nor WebSocket lets a page set an Authorization header.
//  - a short-lived token (60 s) in the query string, `?token=...`, for clients that cannot
//    use cookies (another origin, a script). GET /api/token mints one for a cookie holder, and
//    POST /api/signin returns one too. It is only checked when a connection opens: an
//    EventSource or WebSocket opened with it stays open after it expires, but needs a fresh
//    token to reconnect. URLs end up in logs and proxies, hence the short life; a token cannot
//    mint another token, so one that leaks cannot be kept alive.
//
// The value is `<payload>.<mac>`: payload = base64url(JSON {n: name, e: expiry ms}), mac =
// HMAC-SHA256(secret, purpose + ":" + payload). The purpose ("session" or "token") keeps a
// cookie from being accepted as a token and the other way round.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { HttpError, type Middleware, type SluiceRequest } from "../../src/index.js";

export const COOKIE_NAME = "sluice_session";
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const TOKEN_TTL_MS = 60_000;
/** Longest signed value accepted: anything longer is not ours, and is not worth a MAC. */
const MAX_SIGNED_LENGTH = 512;
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;
export const MAX_NAME_LENGTH = 24;

export type Purpose = "session" | "token";

/** A display name as typed (trimmed, NFC), or undefined when it is not an acceptable one. */
export function validName(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.trim().normalize("NFC");
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME.test(name)) return undefined;
  return name;
}

/** The secret to sign with: SLUICE_SECRET, or a random one (sessions then end with the process). */
export function secretFromEnv(): string {
  return process.env.SLUICE_SECRET || randomBytes(32).toString("base64url");
}

export class Signer {
  constructor(private readonly secret: string) {
    if (secret.length < 16) throw new TypeError("The signing secret needs 16 characters or more");
  }

  sign(purpose: Purpose, name: string, ttlMs: number, now = Date.now()): string {
    const payload = Buffer.from(JSON.stringify({ n: name, e: now + ttlMs })).toString("base64url");
    return `${payload}.${this.mac(purpose, payload)}`;
  }

  /** The name a signed value carries, if its MAC is right, it has not expired, and the name is valid. */
  verify(purpose: Purpose, value: string | null | undefined, now = Date.now()): string | undefined {
    if (!value || value.length > MAX_SIGNED_LENGTH) return undefined;
    const dot = value.indexOf(".");
    if (dot <= 0) return undefined;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.mac(purpose, payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const { n, e } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      if (typeof e !== "number" || e <= now) return undefined;
      return validName(n) === n ? n : undefined;
    } catch {
      return undefined;
    }
  }

  private mac(purpose: Purpose, payload: string): string {
    return createHmac("sha256", this.secret).update(`${purpose}:${payload}`).digest("base64url");
  }
}

/** The Set-Cookie value that signs `name` in (or, with no name, signs out). */
export function sessionCookie(signer: Signer, name?: string): string {
  // Behind HTTPS, add `Secure`. SameSite=Lax: not sent on cross-site subrequests, which also
  // keeps other sites from opening a WebSocket in the visitor's name.
  const attributes = "Path=/; HttpOnly; SameSite=Lax";
  if (name === undefined) return `${COOKIE_NAME}=; ${attributes}; Max-Age=0`;
  const value = signer.sign("session", name, SESSION_TTL_MS);
  return `${COOKIE_NAME}=${value}; ${attributes}; Max-Age=${SESSION_TTL_MS / 1000}`;
}

export function readCookie(req: SluiceRequest, name: string): string | undefined {
  for (const part of (req.header("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface Identity {
  name: string;
  via: "cookie" | "token";
}

/** Who sent the request: the session cookie first, then a `?token=`. */
export function identify(signer: Signer, req: SluiceRequest): Identity | undefined {
  const fromCookie = signer.verify("session", readCookie(req, COOKIE_NAME));
  if (fromCookie) return { name: fromCookie, via: "cookie" };
  const fromToken = signer.verify("token", req.query.get("token"));
  if (fromToken) return { name: fromToken, via: "token" };
  return undefined;
}

/**
 * Sets `req.state.user` (and `req.state.authVia`) for a signed-in visitor; refuses everyone
 * else with 401 unless `isPublic(req)`. It runs before the WebSocket upgrade too, so an
 * anonymous upgrade gets an HTTP 401 and no socket.
 */
export function requireSignIn(
  signer: Signer,
  isPublic: (req: SluiceRequest) => boolean,
): Middleware {
  return async (req, next) => {
    const identity = identify(signer, req);
    if (identity) {
      req.state.user = identity.name;
      req.state.authVia = identity.via;
    } else if (!isPublic(req)) {
      throw new HttpError(401, "Sign in first (cookie from POST /api/signin, or ?token=)");
    }
    return next();
  };
}
