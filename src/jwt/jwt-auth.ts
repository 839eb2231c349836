import { createPublicKey, createSecretKey, type JsonWebKey, KeyObject } from "node:crypto";
import type {
  CryptoKey,
  errors,
  JWK,
  JWTPayload,
  JWTVerifyOptions,
  RemoteJWKSetOptions,
} from "jose";
import type { TopicGrants } from "../http/credentials.js";
import { HttpError } from "../http/http-error.js";
import type { Middleware } from "../http/middleware-chain.js";
import type { SluiceRequest } from "../http/request.js";
import { type BearerAuthOptions, tokenAuth } from "../middleware/bearer-auth.js";
import { jose } from "./jose-peer.js";
import { spanSeconds } from "./time-span.js";
import { topicsOfClaim } from "./topics-claim.js";

export interface JwtAuthOptions
  extends Pick<BearerAuthOptions, "realm" | "queryParam" | "subprotocol"> {
  /**
   * HS256/384/512: the shared secret (a string is taken as UTF-8 bytes), at least as long as
   * the hash. Key material is refused (TypeError): PEM, a base64 DER public key, a JWK.
   */
  secret?: string | Uint8Array | KeyObject | CryptoKey;
  /** RS*, PS*, ES*, EdDSA: the public key, as PEM (SPKI or an X.509 certificate), a KeyObject, a CryptoKey or a JWK. */
  publicKey?: string | KeyObject | CryptoKey | JWK;
  /** Where the issuer publishes its keys (JWKS); keys are chosen by the token's `kid` and `alg`. */
  jwksUrl?: string | URL;
  /** jose's options for the remote key set: `cooldownDuration`, `cacheMaxAge`, `timeoutDuration`, `headers`. */
  jwks?: Pick<
    RemoteJWKSetOptions,
    "cooldownDuration" | "cacheMaxAge" | "timeoutDuration" | "headers"
  >;
  /** The algorithms accepted (required; "none" never is). A token signed otherwise is refused. */
  algorithms: readonly string[];
  /** Accepted `iss` value(s). */
  issuer?: string | readonly string[];
  /** Accepted `aud` value(s). */
  audience?: string | readonly string[];
  /** Leeway for `exp` and `nbf`: seconds, or a span such as "30s". */
  clockTolerance?: number | string;
  /** Refuse tokens whose `iat` is older than this (seconds, or "1h"). */
  maxTokenAge?: number | string;
  /** Claims that must be present. */
  requiredClaims?: readonly string[];
  /** Accepted `sub` value. */
  subject?: string;
  /**
   * The claim that lists the topics the token allows: `{ "subscribe": ["chat:*"], "publish":
   * ["chat:lobby"] }` (patterns as `app.realtime()`'s lists; a list alone means subscribe
   * only). `app.realtime()` endpoints without a `subscribe` (or `publish`) option allow what
   * it lists; a token without the claim allows nothing there. A claim of another shape is
   * refused with 401. Off by default.
   */
  topicsClaim?: string;
}

const HMAC = { HS256: 32, HS384: 48, HS512: 64 } as const;
const ASYMMETRIC = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
/** Which algorithms a public key of each type can verify. */
const ALGORITHMS_BY_KEY: Record<string, (alg: string, curve?: string) => boolean> = {
  rsa: (alg) => /^(RS|PS)(256|384|512)$/.test(alg),
  "rsa-pss": (alg) => /^PS(256|384|512)$/.test(alg),
  ec: (alg, curve) =>
    ({ ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" })[alg] === curve,
  ed25519: (alg) => alg === "EdDSA" || alg === "Ed25519",
};

/** jose's errors about the token itself, and what the client is told. */
function tokenProblem(error: unknown): string | undefined {
  if (!(error instanceof jose.errors.JOSEError)) return undefined;
  switch (error.code) {
    case "ERR_JWT_EXPIRED":
      return "The token has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === "nbf" && reason === "check_failed") return "The token is not valid yet";
      return `The token's ${claim} claim is not accepted`;
    }
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "The token's signature is not valid";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "The token's algorithm is not accepted";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "No key of the issuer matches the token";
    case "ERR_JOSE_NOT_SUPPORTED":
      return "The token uses an algorithm or header that is not supported";
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return "The token is malformed";
    default:
      return undefined;
  }
}

/**
 * Middleware that requires a JSON Web Token, verified with `jose`, and stores its payload in
 * `req.state.auth`. The token is taken as `bearerAuth` takes it (the `Authorization: Bearer`
 * header, and with `queryParam` / `subprotocol` the query string or the WebSocket
 * subprotocol list: see `bearerAuth` for the browser patterns), before HTTP, SSE and
 * WebSocket routes alike. A token that is malformed, badly signed, expired, not yet valid,
 * from another issuer or audience, or signed with an algorithm not in `algorithms` gets a
 * 401 with `WWW-Authenticate: Bearer realm="api", error="invalid_token",
 * error_description="..."`. When the JWKS cannot be fetched the answer is 503 (the token may
 * well be fine) and a warning is logged.
 *
 * Give exactly one key source: `secret` (HMAC), `publicKey` or `jwksUrl`. The options are
 * checked here (TypeError): `algorithms` must fit the key (no HS256 with a public key, which
 * is the classic confusion attack; no "none"), a secret must be as long as its hash, and a
 * secret that is a key in disguise (PEM, DER or JWK text, a JWK or key object) is refused.
 *
 * `jwtAuth<Claims>(...)` types `req.state.auth` as `Claims` for the routes chained after it
 * (`JWTPayload` by default); the payload is not checked against that type.
 *
 * Long-lived connections end with their token: at its `exp` (plus `clockTolerance`, as
 * verification allows; sooner when `maxTokenAge` says so) an SSE stream gets a last `event:
 * expired` and ends, and a WebSocket is closed with 4001 unless it was refreshed with a new
 * token for the same `sub` (`socket.refreshAuth(token)`, the real-time protocol's `refresh`
 * frame, which `connect({ token })` sends by itself). A token without `exp` never expires.
 *
 * ```ts
 * import { jwtAuth } from "sluice/jwt"; // needs jose (an optional peer dependency)
 * app.use(jwtAuth({
 *   jwksUrl: "https://issuer.example/.well-known/jwks.json",
 *   algorithms: ["RS256"],
 *   issuer: "https://issuer.example/",
 *   audience: "my-api",
 * }));
 * ```
 */
export function jwtAuth<Claims extends JWTPayload = JWTPayload>(
  options: JwtAuthOptions,
): Middleware<{ auth: Claims }>;
export function jwtAuth(options: JwtAuthOptions): Middleware<{ auth: JWTPayload }> {
  const where = "jwtAuth";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${where}: options must be an object`);
  }
  const algorithms = checkAlgorithms(where, options);
  const key = keySource(where, options, algorithms);
  const fromJwks = options.jwksUrl !== undefined;
  const { topicsClaim } = options;
  if (topicsClaim !== undefined && (typeof topicsClaim !== "string" || topicsClaim === "")) {
    throw new TypeError(`${where}: topicsClaim must be the name of a claim, like "topics"`);
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    issuer: options.issuer as string | string[] | undefined,
    audience: options.audience as string | string[] | undefined,
    clockTolerance: options.clockTolerance,
    maxTokenAge: options.maxTokenAge,
    requiredClaims: options.requiredClaims as string[] | undefined,
    subject: options.subject,
  };
  const topicsOf = (payload: JWTPayload) =>
    topicsClaim === undefined ? undefined : topicsOfClaim(topicsClaim, payload[topicsClaim]);
  return tokenAuth<JWTPayload>(
    where,
    {
      realm: options.realm,
      queryParam: options.queryParam,
      subprotocol: options.subprotocol,
      expiresAt: expiryOf(where, options),
      verify: async (token, req) => {
        let payload: JWTPayload;
        try {
          ({ payload } =
            typeof key === "function"
              ? await jose.jwtVerify(token, key, verifyOptions)
              : await jose.jwtVerify(token, key, verifyOptions));
        } catch (error) {
          throw refusalOf(error, fromJwks, req);
        }
        const topics = topicsOf(payload);
        if (typeof topics === "string") throw new HttpError(401, topics);
        return payload;
      },
    },
    // Checked by verify above: here it is a list of grants, or undefined.
    { topics: (payload) => topicsOf(payload) as TopicGrants | undefined },
  );
}

/**
 * Why a token was not verified, as the client is told: a 401 saying what is wrong with it,
 * or a 503 when the issuer's key set could not be fetched (the token may well be fine).
 */
function refusalOf(error: unknown, fromJwks: boolean, req: SluiceRequest): HttpError {
  const problem = tokenProblem(error);
  if (problem !== undefined) return new HttpError(401, problem, undefined, { cause: error });
  if (fromJwks) {
    // The key set could not be fetched or read: not the client's fault.
    req.log.warn({ err: error }, "JWT not verified: the JWKS could not be fetched");
    return new HttpError(503, "The token cannot be verified right now", undefined, {
      cause: error,
      headers: { "retry-after": "5" },
    });
  }
  req.log.debug({ err: error }, "JWT refused");
  return new HttpError(401, "The token is not valid", undefined, { cause: error });
}

/**
 * When a verified token stops being accepted, as jose judges it: its `exp` plus the
 * `clockTolerance`, or sooner its `iat` plus `maxTokenAge` (and the tolerance). A token with
 * neither limit never expires.
 */
function expiryOf(
  where: string,
  options: JwtAuthOptions,
): (payload: JWTPayload) => number | undefined {
  const tolerance =
    options.clockTolerance === undefined
      ? 0
      : spanSeconds(where, "clockTolerance", options.clockTolerance);
  const maxAge =
    options.maxTokenAge === undefined
      ? undefined
      : spanSeconds(where, "maxTokenAge", options.maxTokenAge);
  return (payload) => {
    const limits: number[] = [];
    if (typeof payload.exp === "number") limits.push(payload.exp);
    if (maxAge !== undefined && typeof payload.iat === "number") limits.push(payload.iat + maxAge);
    return limits.length === 0 ? undefined : (Math.min(...limits) + tolerance) * 1000;
  };
}

function checkAlgorithms(where: string, options: JwtAuthOptions): string[] {
  const { algorithms } = options;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError(`${where}: algorithms is required, e.g. ["RS256"]`);
  }
  for (const alg of algorithms) {
    if (typeof alg === "string" && alg.toLowerCase() === "none") {
      throw new TypeError(`${where}: the "none" algorithm is never accepted`);
    }
    if (!(alg in HMAC) && !ASYMMETRIC.includes(alg)) {
      throw new TypeError(`${where}: unknown algorithm ${JSON.stringify(alg)}`);
    }
  }
  const hmac = algorithms.filter((alg) => alg in HMAC);
  if (options.secret !== undefined && hmac.length !== algorithms.length) {
    throw new TypeError(`${where}: a secret verifies HS256, HS384 or HS512 only`);
  }
  if (options.secret === undefined && hmac.length > 0) {
    throw new TypeError(`${where}: ${hmac.join(", ")} needs a secret, not a public key or JWKS`);
  }
  return [...algorithms];
}

type Key = KeyObject | CryptoKey | Uint8Array | ReturnType<typeof jose.createRemoteJWKSet>;

function keySource(where: string, options: JwtAuthOptions, algorithms: string[]): Key {
  const { secret, publicKey, jwksUrl } = options;
  const given = [secret, publicKey, jwksUrl].filter((one) => one !== undefined).length;
  if (given !== 1) throw new TypeError(`${where}: give exactly one of secret, publicKey, jwksUrl`);
  if (secret !== undefined) return secretKey(where, secret, algorithms);
  if (publicKey !== undefined) return verificationKey(where, publicKey, algorithms);
  let url: URL;
  try {
    url = new URL(jwksUrl as string | URL);
  } catch {
    throw new TypeError(`${where}: jwksUrl is not a URL: ${String(jwksUrl)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`${where}: jwksUrl must be an http(s) URL`);
  }
  return jose.createRemoteJWKSet(url, options.jwks);
}

function secretKey(where: string, secret: NonNullable<JwtAuthOptions["secret"]>, algs: string[]) {
  if (isCryptoKey(secret)) {
    if (secret.type !== "secret") throw new TypeError(`${where}: ${NOT_A_SECRET}`);
    return secret;
  }
  let bytes: Uint8Array;
  if (typeof secret === "string") bytes = new TextEncoder().encode(secret);
  else if (secret instanceof Uint8Array) bytes = secret;
  else if (secret instanceof KeyObject && secret.type === "secret") bytes = secret.export();
  else if (secret instanceof KeyObject) throw new TypeError(`${where}: ${NOT_A_SECRET}`);
  else if (looksLikeJwk(secret)) throw new TypeError(`${where}: ${NOT_A_SECRET}`);
  else throw new TypeError(`${where}: secret must be a string, bytes or a secret key`);
  if (looksLikeKeyText(bytes)) throw new TypeError(`${where}: ${NOT_A_SECRET}`);
  const needed = Math.max(...algs.map((alg) => HMAC[alg as keyof typeof HMAC]));
  if (bytes.byteLength < needed) {
    throw new TypeError(
      `${where}: the secret must be at least ${needed} bytes for ${algs.join(", ")}`,
    );
  }
  return createSecretKey(bytes);
}

function verificationKey(
  where: string,
  input: NonNullable<JwtAuthOptions["publicKey"]>,
  algorithms: string[],
): KeyObject | CryptoKey {
  if (isCryptoKey(input)) {
    if (input.type !== "public") throw new TypeError(`${where}: publicKey must be a public key`);
    return input;
  }
  let key: KeyObject;
  try {
    if (input instanceof KeyObject) {
      if (input.type !== "public") throw new Error("not a public key");
      key = input;
    } else if (typeof input === "string") {
      key = createPublicKey(input);
    } else {
      if (input.d !== undefined) throw new Error("a private JWK");
      key = createPublicKey({ key: input as JsonWebKey, format: "jwk" });
    }
  } catch (error) {
    throw new TypeError(
      `${where}: publicKey must be a public key (PEM, KeyObject, CryptoKey or JWK): ${(error as Error).message}`,
    );
  }
  const fits = ALGORITHMS_BY_KEY[key.asymmetricKeyType ?? ""];
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const misfits = algorithms.filter((alg) => !fits?.(alg, curve));
  if (misfits.length > 0) {
    throw new TypeError(
      `${where}: a ${key.asymmetricKeyType}${curve ? ` (${curve})` : ""} key cannot verify ${misfits.join(", ")}`,
    );
  }
  return key;
}

const NOT_A_SECRET =
  'secret looks like a key (PEM, DER or JWK), not a shared HMAC secret: give a public key as publicKey, with its algorithm (RS256, ES256...), since an HS256 secret made of a public key lets anyone who has the key sign tokens (the key-confusion attack); an "oct" JWK\'s secret is its decoded k bytes';

/**
 * True for a secret that is really key material: PEM (`-----BEGIN ...`, a public or a
 * private key, a certificate), a base64 DER public key, or a JWK as JSON text.
 */
function looksLikeKeyText(bytes: Uint8Array): boolean {
  const text = new TextDecoder().decode(bytes).trim();
  if (text.includes("-----BEGIN")) return true;
  if (text.startsWith("{")) {
    try {
      return looksLikeJwk(JSON.parse(text));
    } catch {
      return false;
    }
  }
  return /^MI[A-Za-z0-9+/]+={0,2}$/.test(text) && isDerPublicKey(Buffer.from(text, "base64"));
}

function isDerPublicKey(der: Buffer): boolean {
  try {
    createPublicKey({ key: der, format: "der", type: "spki" });
    return true;
  } catch {
    return false;
  }
}

/** A JWK object: `kty` is the one member every JWK has. */
function looksLikeJwk(value: unknown): boolean {
  return typeof value === "object" && value !== null && "kty" in value;
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "CryptoKey"
  );
}
