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

  /** Throws, as the router does for a route, on a pattern it cannot take. */
  constructor(readonly pattern: string) {
    this.#router.add("*", pattern, true);
  }

  matches(path: string): boolean {
    return this.#router.lookup(ANY, path).kind === "found";
  }
}
