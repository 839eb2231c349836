import { createHash, timingSafeEqual } from "node:crypto";
import { validateHeaderName } from "node:http";
import type { Middleware } from "../http/middleware-chain.js";
import type { SluiceRequest } from "../http/request.js";
import { checkRealm, runVerify, unauthorized, type Verified } from "./auth-challenge.js";

export interface ApiKeyAuthOptions<P = unknown> {
  /**
   * The keys accepted: a list (the principal is then `{ keyIndex }`, the key's position), or a
   * Map from key to principal (a truthy value: the client, the tenant...). Give either `keys`
   * or `verify`.
   */
  keys?: Iterable<string> | ReadonlyMap<string, P>;
  /**
   * Checks a key and returns the principal (truthy) or a falsy value to refuse; a thrown error
   * refuses too (an `HttpError` is answered as is). Compare secrets in constant time here.
   */
  verify?: (key: string, request: SluiceRequest) => Verified<P> | Promise<Verified<P>>;
  /** The request header carrying the key. Default "x-api-key". */
  header?: string;
  /** Also take the key from this query parameter (off by default: URLs get logged). */
  queryParam?: string;
  /** The `realm` of the `WWW-Authenticate: ApiKey` challenge. Default "api". */
  realm?: string;
}

const sha256 = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Middleware that requires an API key (header `x-api-key` by default) and stores the
 * principal in `req.state.auth`. Keys given as `keys` are compared in constant time: the
 * SHA-256 of the key sent is compared with `crypto.timingSafeEqual` against the hash of every
 * key, all of them each time, so neither the position of a matching key nor the length of a
 * near miss shows in the response time. A missing or wrong key is a 401 with
 * `WWW-Authenticate: ApiKey realm="api", header="x-api-key"`, before HTTP, SSE and WebSocket
 * routes alike (a refused upgrade gets no socket).
 *
 * ```ts
 * app.use(apiKeyAuth({ keys: new Map([[process.env.PARTNER_KEY!, { client: "partner" }]]) }));
 * ```
 */
export function apiKeyAuth<P = { keyIndex: number }>(
  options: ApiKeyAuthOptions<P>,
): Middleware<{ auth: P }> {
  const where = "apiKeyAuth";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${where}: options must be an object`);
  }
  const header = (options.header ?? "x-api-key").toLowerCase();
  try {
    validateHeaderName(header);
  } catch {
    throw new TypeError(`${where}: header must be a valid header name, got ${options.header}`);
  }
  const { queryParam } = options;
  if (queryParam !== undefined && (typeof queryParam !== "string" || queryParam === "")) {
    throw new TypeError(`${where}: queryParam must be a non-empty string`);
  }
  const realm = checkRealm(where, options.realm ?? "api");
  const check = keyCheck(where, options);
  const params = { realm, header };

  return async (req, next) => {
    const sent = [req.header(header), ...(queryParam ? req.query.getAll(queryParam) : [])].filter(
      (value): value is string => value !== undefined && value !== "",
    );
    if (sent.length === 0) {
      throw unauthorized("An API key is required", "ApiKey", params);
    }
    if (sent.length > 1) {
      throw unauthorized("Send the API key one way only", "ApiKey", {
        ...params,
        error: "invalid_request",
      });
    }
    const outcome = await runVerify(
      () => check(sent[0], req),
      (error) => req.log.debug({ err: error }, "API key refused: verify threw"),
    );
    if ("principal" in outcome) {
      req.state.auth = outcome.principal;
      return next();
    }
    if (outcome.refused && outcome.refused.status !== 401) throw outcome.refused;
    throw unauthorized(
      outcome.refused?.message ?? "The API key is not valid",
      "ApiKey",
      { ...params, error: "invalid_key" },
      outcome.refused,
    );
  };
}

type Check<P> = (key: string, req: SluiceRequest) => Verified<P> | Promise<Verified<P>>;

function keyCheck<P>(
  where: string,
  options: ApiKeyAuthOptions<P>,
): Check<P | { keyIndex: number }> {
  const { keys, verify } = options;
  if ((keys === undefined) === (verify === undefined)) {
    throw new TypeError(`${where}: give either keys or verify`);
  }
  if (verify !== undefined) {
    if (typeof verify !== "function") throw new TypeError(`${where}: verify must be a function`);
    return verify;
  }
  if (keys === null || typeof keys !== "object" || !(Symbol.iterator in keys)) {
    throw new TypeError(`${where}: keys must be an array, a Set or a Map of strings`);
  }
  const entries: [string, P | { keyIndex: number }][] =
    keys instanceof Map
      ? [...(keys as ReadonlyMap<string, P>)]
      : [...(keys as Iterable<string>)].map((key, keyIndex) => [key, { keyIndex }]);
  if (entries.length === 0) throw new TypeError(`${where}: keys is empty`);
  for (const [key, principal] of entries) {
    if (typeof key !== "string" || key === "") {
      throw new TypeError(`${where}: every key must be a non-empty string`);
    }
    if (!principal) throw new TypeError(`${where}: a key's principal must be a truthy value`);
  }
  const hashes = entries.map(([key]) => sha256(key));
  const principals = entries.map(([, principal]) => principal);
  return (key) => {
    const digest = sha256(key);
    let match = -1;
    for (let index = 0; index < hashes.length; index++) {
      // Every hash is compared, whether or not one matched already.
      if (timingSafeEqual(digest, hashes[index]) && match === -1) match = index;
    }
    return match === -1 ? undefined : principals[match];
  };
}
