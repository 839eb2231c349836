import type { Middleware } from "../http/middleware-chain.js";
import { PathPattern } from "../http/path-pattern.js";

interface Entry {
  readonly middleware: Middleware;
  /** Undefined for middleware that runs for every path. */
  readonly scope: PathPattern | undefined;
}

/**
 * The app's middleware in registration order, global and path-scoped alike, and which of
 * them a request's path goes through. An app without scoped middleware hands out one
 * shared array: its requests pay nothing for the feature.
 */
export class MiddlewareStack {
  readonly #entries: Entry[] = [];
  /** Every middleware, while none is scoped (then `forPath` needs no matching). */
  readonly #unscoped: Middleware[] = [];
  #scoped = false;

  /** `pattern`: a route pattern (`/admin/*`) the request's canonical path must match. */
  add(middleware: Middleware, pattern?: string): void {
    const scope = pattern === undefined ? undefined : scopeOf(pattern);
    this.#entries.push({ middleware, scope });
    if (scope) this.#scoped = true;
    else this.#unscoped.push(middleware);
  }

  /** The path patterns without a `*`: each guards one path, nothing beneath it. */
  get exactScopes(): string[] {
    const patterns = this.#entries.flatMap(({ scope }) => (scope ? [scope.pattern] : []));
    return patterns.filter((pattern) => !pattern.includes("*"));
  }

  /** The middleware a request to `path` (its canonical path) runs through, in order. */
  forPath(path: string): readonly Middleware[] {
    if (!this.#scoped) return this.#unscoped;
    // Empty segments are matched as if collapsed: a wildcard route (`/files/*`) takes
    // `/files//private/x`, and its guard on `/files/private/*` must run for it. A guard errs
    // towards running.
    const scopePath = path.includes("//") ? path.replace(/\/{2,}/g, "/") : path;
    const chain: Middleware[] = [];
    for (const { middleware, scope } of this.#entries) {
      if (scope === undefined || scope.matches(scopePath)) chain.push(middleware);
    }
    return chain;
  }
}

function scopeOf(pattern: string): PathPattern {
  if (typeof pattern !== "string" || !pattern.startsWith("/")) {
    throw new TypeError(
      `app.use(path, middleware): the path must be a route pattern starting with "/" (like "/admin/*"), got ${JSON.stringify(pattern)}`,
    );
  }
  // Spellings that would guard nothing under a prefix, silently: refused with the fix.
  if (/[^/]\*/.test(pattern)) {
    throw new TypeError(
      `app.use("${pattern}", middleware): "*" stands for a whole subtree, after a "/": write "${pattern.replace(/\*+$/, "").replace(/\/?$/, "/*")}"`,
    );
  }
  if (pattern.length > 1 && pattern.endsWith("/")) {
    throw new TypeError(
      `app.use("${pattern}", middleware): a trailing "/" matches only that exact path; write "${pattern}*" to guard everything under it, or "${pattern.slice(0, -1)}" for the path alone`,
    );
  }
  try {
    return new PathPattern(pattern);
  } catch (error) {
    throw new TypeError(`app.use("${pattern}", middleware): ${(error as Error).message}`, {
      cause: error,
    });
  }
}
