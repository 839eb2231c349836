import { Deadline } from "../util/deadline.js";
import { HttpError } from "./http-error.js";
import type { SluiceRequest } from "./request.js";

/** Topic patterns a token allows (jwtAuth's `topicsClaim`): who may subscribe, publish. */
export interface TopicGrants {
  readonly subscribe: readonly string[];
  readonly publish: readonly string[];
}

/**
 * @internal What an auth middleware learnt of a request's credentials, beyond the principal
 * it put in `req.state.auth`: when they expire, the topics they allow, and who checks a new
 * token the same way (a refresh on a long-lived connection). Plain data: the middleware's one
 * `authority` serves every request, so a request holds no closure for it.
 */
export interface Credentials {
  /** What `verify` returned: the principal, kept to compare a refresh's with. */
  readonly principal: unknown;
  /** Ms since the epoch at which they stop being valid; undefined: never. */
  readonly expiresAt: number | undefined;
  /** The topics they allow, when the token says; undefined when it says nothing. */
  readonly topics: TopicGrants | undefined;
  /** The middleware that accepted them, which checks a refresh's token. */
  readonly authority: CredentialAuthority;
}

/** @internal The middleware that accepted credentials: it checks a refresh's token. */
export interface CredentialAuthority {
  /**
   * Verifies `token` as the first one was and, when it passes, makes it the request's: its
   * principal in `req.state.auth`, its credentials recorded. Rejects with the HttpError that
   * refused it (the request keeps the old ones).
   */
  refresh(request: SluiceRequest, current: Credentials, token: string): Promise<Credentials>;
}

/** A request, whatever its params and state are typed as. */
type AnyRequest = SluiceRequest<Record<string, string>, object>;

const recorded = new WeakMap<AnyRequest, Credentials>();

/** @internal Records (or replaces) the credentials an auth middleware accepted for `request`. */
export function recordCredentials(request: AnyRequest, credentials: Credentials): void {
  recorded.set(request, credentials);
}

/** @internal The credentials recorded for `request`, if an auth middleware recorded some. */
export function credentialsOf(request: AnyRequest): Credentials | undefined {
  return recorded.get(request);
}

/** @internal Ms until the request's credentials expire (0 once they have), or null: never. */
export function expiresIn(request: AnyRequest): number | null {
  const expiresAt = recorded.get(request)?.expiresAt;
  return expiresAt === undefined ? null : Math.max(0, expiresAt - Date.now());
}

/**
 * @internal Verifies a new token for `request` with the middleware that accepted its first
 * one: see CredentialAuthority.refresh. Rejects with a 400 HttpError when no auth middleware
 * recorded credentials for it (there is nothing to refresh).
 */
export function refreshCredentials(request: SluiceRequest, token: string): Promise<Credentials> {
  const current = recorded.get(request);
  if (current === undefined) {
    return Promise.reject(
      new HttpError(
        400,
        "Nothing to refresh: this connection was not authenticated by bearerAuth or jwtAuth",
      ),
    );
  }
  return current.authority.refresh(request, current, token);
}

/**
 * @internal Calls `expired` when the request's credentials expire (a long-lived connection
 * then ends): the deadline, to cancel when the connection ends first; undefined when they
 * never expire.
 */
export function expiryDeadline(request: AnyRequest, expired: () => void): Deadline | undefined {
  const expiresAt = recorded.get(request)?.expiresAt;
  return expiresAt === undefined ? undefined : new Deadline(expiresAt, expired);
}
