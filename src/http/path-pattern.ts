import { Router } from "./router.js";

/** The one "method" a pattern is stored under: it matches whatever the request's method. */
const ANY: readonly string[] = [];

/**
 * A route pattern (`/admin/*`, `/orgs/:org/*`, `/health`) matched against canonical request
 * paths by the router itself, so that a pattern means exactly what it means for a route: a
 * trailing `*` also matches the path without it (`/admin/*` matches `/admin`, `/admin/` and
 * `/admin/users`, not `/administrator`).
 */
export class PathPattern {
  readonly #router = new Router<true>();
  /** The pattern's static start (`/orgs` of `/orgs/:org/*`): a cheap test before the router's. */
  readonly #prefix: string;

  /** Throws, as the router does for a route, on a pattern it cannot take. */
  constructor(readonly pattern: string) {
    this.#router.add("*", pattern, true);
    this.#prefix = staticPrefix(pattern);
  }

  matches(path: string): boolean {
    // Most requests are nowhere near a given scope: they pay one string test, not a lookup.
    const prefix = this.#prefix;
    if (prefix !== "" && path !== prefix && !path.startsWith(`${prefix}/`)) return false;
    return this.#router.lookup(ANY, path).kind === "found";
  }
}

/** The segments before the first `:param` or `*`, without a trailing "/". */
function staticPrefix(pattern: string): string {
  const dynamic = pattern.search(/\/[:*]/);
  const start = dynamic === -1 ? pattern : pattern.slice(0, dynamic);
  return start.endsWith("/") ? start.slice(0, -1) : start;
}
