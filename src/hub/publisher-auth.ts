import { createHash, timingSafeEqual } from "node:crypto";
import { credentialsOf } from "../http/credentials.js";
import type { Middleware } from "../http/middleware-chain.js";
import type { SluiceRequest } from "../http/request.js";
import { unauthorized } from "../middleware/auth-challenge.js";
import { B64TOKEN } from "../middleware/token-check.js";
import type { HubJwtOptions, HubOptions } from "./hub-options.js";
import type { PublisherGrants } from "./topic-gate.js";

/** Who sent a request of the publish API, once authenticated. */
export interface Publisher {
  /** What the rate limit counts by: a key's hash, or a JWT's issuer and subject. */
  readonly id: string;
  readonly grants: PublisherGrants;
}

/** The realm of the publish API's `WWW-Authenticate` challenges. */
export const HUB_REALM = "hub";
const BEARER = /^bearer(?: +(.*))?$/is;
const NO_GRANTS = { subscribe: [], publish: [] } as const;

/**
 * Authenticates a request of the publish API by its `Authorization: Bearer` token: one of
 * the hub's publish keys (compared in constant time: their SHA-256 hashes, every key every
 * time), which may touch every topic of the hub, or a JWT verified as subscribers' are, whose
 * topics claim says which topics.
 */
export class PublisherAuth {
  readonly #keyHashes: readonly Buffer[];
  readonly #jwt: Promise<Middleware> | undefined;

  constructor(options: HubOptions) {
    this.#keyHashes = options.publishKeys.map(sha256);
    this.#jwt = options.jwt === undefined ? undefined : jwtVerifier(options.jwt);
    // A failure (jose missing, options jwtAuth refuses) is answered at each JWT request.
    this.#jwt?.catch(() => {});
  }

  async authenticate(request: SluiceRequest): Promise<Publisher> {
    const token = bearerToken(request);
    const hash = sha256(token);
    if (this.#isPublishKey(hash)) {
      return { id: `key:${hash.toString("hex", 0, 16)}`, grants: "every topic" };
    }
    if (this.#jwt === undefined || token.split(".").length !== 3) {
      throw invalidToken(
        this.#jwt === undefined
          ? "The bearer token is not a publish key of this hub"
          : "The bearer token is neither a publish key of this hub nor a JWT",
      );
    }
    // jwtAuth's own checks (signature, exp, iss, aud, the topics claim's shape), which
    // record the grants of its topics claim with the request.
    await (await this.#jwt)(request, noNext);
    const claims = request.state.auth as { iss?: unknown; sub?: unknown } | undefined;
    return {
      id: `jwt:${JSON.stringify([claims?.iss ?? null, claims?.sub ?? hash.toString("hex", 0, 16)])}`,
      grants: credentialsOf(request)?.topics ?? NO_GRANTS,
    };
  }

  /** Compares with every key, matching or not, so the time taken tells nothing. */
  #isPublishKey(hash: Buffer): boolean {
    let found = false;
    for (const keyHash of this.#keyHashes) found = timingSafeEqual(hash, keyHash) || found;
    return found;
  }
}

const noNext = () => Promise.resolve();

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The token of `Authorization: Bearer <token>`, or the 401 that says what is wrong. */
function bearerToken(request: SluiceRequest): string {
  const match = BEARER.exec(request.header("authorization") ?? "");
  if (match === null) {
    throw unauthorized(
      "A bearer token is required: Authorization: Bearer <publish key or JWT>",
      "Bearer",
      { realm: HUB_REALM },
    );
  }
  const token = match[1]?.trim() ?? "";
  if (!B64TOKEN.test(token)) {
    const message = "Malformed bearer token: send Authorization: Bearer <publish key or JWT>";
    throw unauthorized(message, "Bearer", {
      realm: HUB_REALM,
      error: "invalid_request",
      error_description: message,
    });
  }
  return token;
}

function invalidToken(message: string) {
  return unauthorized(message, "Bearer", {
    realm: HUB_REALM,
    error: "invalid_token",
    error_description: message,
  });
}

/**
 * jwtAuth over the hub's JWT options, loaded when the hub has some: jose is an optional
 * peer, so a hub that takes publish keys only runs without it.
 */
async function jwtVerifier(options: HubJwtOptions): Promise<Middleware> {
  const { jwtAuth } = await import("../jwt/jwt-auth.js");
  return jwtAuth({
    secret: options.secret,
    jwksUrl: options.jwksUrl,
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.algorithms,
    topicsClaim: options.topicsClaim,
    realm: HUB_REALM,
  }) as Middleware;
}
