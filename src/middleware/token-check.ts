import {
  type CredentialAuthority,
  type Credentials,
  recordCredentials,
  type TopicGrants,
} from "../http/credentials.js";
import type { HttpError } from "../http/http-error.js";
import type { SluiceRequest } from "../http/request.js";
import { runVerify, unauthorized, type Verified } from "./auth-challenge.js";

/** Token characters (RFC 6750 b64token): what a JWT or an opaque token is made of. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** @internal What jwtAuth adds to bearerAuth: the topics a principal's token allows. */
export interface TokenAuthExtras<P> {
  topics?: (principal: P) => TopicGrants | undefined;
}

/** Who a principal is, for a refresh: the connection keeps its subject. */
export type SubjectOf<P> = (principal: P) => string | undefined;

type Verify<P> = (token: string, request: SluiceRequest) => Verified<P> | Promise<Verified<P>>;
type ExpiresAt<P> = (principal: P) => Date | number | undefined;

/**
 * @internal How one bearerAuth (or jwtAuth) checks a token: a request's first, and each
 * refresh of a long-lived connection, the same way. The credentials it accepts are recorded
 * with the request; it is their `authority`, shared by every request of the middleware.
 */
export class TokenCheck<P> implements CredentialAuthority {
  constructor(
    private readonly verify: Verify<P>,
    private readonly realm: string,
    private readonly expiresAt: ExpiresAt<P> | undefined,
    private readonly extras: TokenAuthExtras<P>,
    private readonly subjectOf: SubjectOf<P> = defaultSubjectOf,
  ) {}

  /**
   * Verifies `token`: its credentials, or the 401 (with its challenge) that refuses it, or the
   * HttpError `verify` threw. A token whose credentials expired already is refused; so is a
   * refresh (`previous` given) for another subject than the first token's.
   */
  async accept(
    token: string,
    request: SluiceRequest,
    previous?: Credentials,
  ): Promise<Credentials> {
    const outcome = await runVerify(
      () => this.verify(token, request),
      (error) => request.log.debug({ err: error }, "bearer token refused: verify threw"),
    );
    if (!("principal" in outcome)) throw this.#refusal(outcome.refused);
    const { principal } = outcome;
    const expiresAt = this.#expiryOf(principal);
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      throw this.#refusal(undefined, "The token has expired");
    }
    if (previous !== undefined) this.#checkSameSubject(previous.principal as P, principal);
    return { principal, expiresAt, topics: this.extras.topics?.(principal), authority: this };
  }

  async refresh(request: SluiceRequest, current: Credentials, token: string): Promise<Credentials> {
    if (typeof token !== "string" || !B64TOKEN.test(token)) {
      const message = "Malformed bearer token";
      throw unauthorized(message, "Bearer", {
        realm: this.realm,
        error: "invalid_request",
        error_description: message,
      });
    }
    const credentials = await this.accept(token, request, current);
    (request.state as Record<string, unknown>).auth = credentials.principal;
    recordCredentials(request, credentials);
    return credentials;
  }

  /**
   * A refresh must be for the connection's subject. A principal without one (no `sub`, say)
   * cannot show that a new token is for the same user: its refresh is refused.
   */
  #checkSameSubject(previous: P, next: P): void {
    const subject = this.subjectOf(previous);
    if (subject === undefined) {
      throw this.#refusal(
        undefined,
        "The connection's credentials name no subject (sub) that a new token could match: reconnect instead",
      );
    }
    if (this.subjectOf(next) !== subject) {
      throw this.#refusal(
        undefined,
        "The new token is for another subject (iss and sub) than the first: a connection keeps its subject; reconnect instead",
      );
    }
  }

  /** A refusal as the client gets it: a 401 with `invalid_token`, or verify's own HttpError. */
  #refusal(refused: HttpError | undefined, description?: string): HttpError {
    if (refused && refused.status !== 401) return refused;
    const message = description ?? refused?.message ?? "The bearer token is not valid";
    return unauthorized(
      message,
      "Bearer",
      {
        realm: this.realm,
        error: "invalid_token",
        error_description: refused || description ? message : undefined,
      },
      refused,
    );
  }

  /** Ms since the epoch, from the `expiresAt` option or the principal's `exp` claim. */
  #expiryOf(principal: P): number | undefined {
    if (this.expiresAt === undefined) return expClaimOf(principal);
    const at = this.expiresAt(principal);
    if (at === undefined) return undefined;
    const ms = at instanceof Date ? at.getTime() : at;
    if (typeof ms !== "number" || !Number.isFinite(ms)) {
      throw new TypeError(
        `bearerAuth: expiresAt must return a Date, a number of ms since the epoch or undefined, got ${describe(at)}`,
      );
    }
    return ms;
  }
}

/** A numeric `exp` claim (seconds since the epoch, as JWTs have) in ms, or undefined. */
function expClaimOf(principal: unknown): number | undefined {
  if (typeof principal !== "object" || principal === null) return undefined;
  const exp = (principal as { exp?: unknown }).exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/**
 * A principal's subject by default: a string principal is one; an object's `sub` claim
 * (a string or number), with its `iss`, since a `sub` is unique within its issuer only.
 */
function defaultSubjectOf(principal: unknown): string | undefined {
  if (typeof principal === "string") return principal === "" ? undefined : `=${principal}`;
  if (typeof principal !== "object" || principal === null) return undefined;
  const { iss, sub } = principal as { iss?: unknown; sub?: unknown };
  if (typeof sub !== "string" && typeof sub !== "number") return undefined;
  return JSON.stringify([typeof iss === "string" ? iss : null, sub]);
}

function describe(value: unknown): string {
  if (value instanceof Date) return "an invalid Date";
  return typeof value === "number" ? String(value) : typeof value;
}
