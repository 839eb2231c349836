import { originListMatcher } from "../http/origin-pattern.js";
import type { SluiceRequest } from "../http/request.js";
import { isPromiseLike } from "../util/is-promise-like.js";

// The origin policy of cors(): which request origins are allowed, and what
// Access-Control-Allow-Origin then says.

/** What an `origin` function answers: allowed (`true`, or the exact `Access-Control-Allow-Origin` value) or not. */
export type CorsOriginDecision = boolean | string | null | undefined;

/**
 * Decides on one request's `Origin` (always a well-formed origin, `null` included unless
 * `credentials` is on: malformed ones are refused before it is called). May be async.
 */
export type CorsOriginFunction = (
  origin: string,
  request: SluiceRequest,
) => CorsOriginDecision | PromiseLike<CorsOriginDecision>;

/** The forms of `CorsOptions.origin`. */
export type CorsOrigin = string | readonly string[] | RegExp | CorsOriginFunction;

/** What may go out as a header value (Node refuses the rest, and it would be a 500). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export type OriginResolver = (
  origin: string,
  request: SluiceRequest,
) => string | undefined | PromiseLike<string | undefined>;

export function originResolver(
  origin: CorsOrigin | undefined,
  credentials: boolean,
): OriginResolver {
  const resolve = policyResolver(origin, credentials);
  return credentials ? withoutNullOrigin(resolve) : resolve;
}

function policyResolver(origin: CorsOrigin | undefined, credentials: boolean): OriginResolver {
  if (origin === "*") return () => "*"; // decide() answers first; cors() refused it with credentials
  if (typeof origin === "string") return listResolver([origin], credentials);
  if (Array.isArray(origin)) return listResolver(origin, credentials);
  if (origin instanceof RegExp) {
    // A global or sticky RegExp keeps state between test() calls: test a stateless copy.
    const pattern = new RegExp(origin.source, origin.flags.replace(/[gy]/g, ""));
    return (requestOrigin) => (pattern.test(requestOrigin) ? requestOrigin : undefined);
  }
  if (typeof origin === "function") {
    return (requestOrigin, request) => {
      const decision = origin(requestOrigin, request);
      return isPromiseLike(decision)
        ? Promise.resolve(decision).then((value) => fromDecision(value, requestOrigin, credentials))
        : fromDecision(decision, requestOrigin, credentials);
    };
  }
  throw new TypeError(
    'cors(): origin must be "*", an origin, an array of origins, a RegExp or a function',
  );
}

/**
 * With credentials, the `Origin` `null` is refused before the policy is asked, and a policy's
 * answer `null` is dropped: sandboxed iframes (`<iframe sandbox>`, `data:` documents) and
 * `file:` pages send it, so any site can make its page `null` and read cookie-bearing answers.
 */
function withoutNullOrigin(resolve: OriginResolver): OriginResolver {
  const dropNull = (value: string | undefined) => (isNullOrigin(value) ? undefined : value);
  return (requestOrigin, request) => {
    if (isNullOrigin(requestOrigin)) return undefined;
    const value = resolve(requestOrigin, request);
    return isPromiseLike(value) ? Promise.resolve(value).then(dropNull) : dropNull(value);
  };
}

function isNullOrigin(origin: string | undefined): boolean {
  return origin?.toLowerCase() === "null";
}

function listResolver(origins: readonly unknown[], credentials: boolean): OriginResolver {
  for (const origin of origins) {
    if (credentials && typeof origin === "string" && isNullOrigin(origin)) {
      throw new TypeError(
        'cors(): the origin "null" cannot be allowed with credentials: sandboxed iframes and ' +
          "file: pages send it, and any site can make one; list your sites' real origins",
      );
    }
  }
  const allowed = originListMatcher(origins, normaliseOrigin, "cors():");
  return (requestOrigin) => (allowed(requestOrigin) ? requestOrigin : undefined);
}

/** `https://App.example/` -> `https://app.example`; `"null"` stays; anything else is refused. */
function normaliseOrigin(origin: unknown): string {
  if (origin === "null") return origin;
  if (origin === "*") {
    throw new TypeError('cors(): "*" cannot be one origin among others; use origin: "*"');
  }
  let url: URL | undefined;
  try {
    url = typeof origin === "string" ? new URL(origin) : undefined;
  } catch {}
  if (
    !url ||
    url.origin === "null" ||
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== "" ||
    url.username !== "" ||
    url.password !== "" ||
    (typeof origin === "string" && origin.includes("?"))
  ) {
    throw new TypeError(
      `cors(): "${String(origin)}" is not an origin (scheme://host[:port], no path)`,
    );
  }
  return url.origin;
}

function fromDecision(
  decision: CorsOriginDecision,
  origin: string,
  credentials: boolean,
): string | undefined {
  if (decision === true) return origin;
  if (typeof decision !== "string" || decision === "") return undefined;
  if (decision === "*" && credentials) return origin;
  if (!HEADER_VALUE.test(decision)) {
    throw new TypeError(
      `cors(): the origin function returned ${JSON.stringify(decision)}, which is not a header value`,
    );
  }
  return decision;
}
