import type { Middleware } from "../http/middleware-chain.js";
import type { SseOptions } from "../sse/sse-options.js";
import type { SseHandler } from "../sse/sse-route.js";
import type { WebSocketHandler } from "../websocket/websocket-gateway.js";
import type { WebSocketRouteOptions } from "../websocket/websocket-schema-options.js";
import { RouteMethods } from "./route-methods.js";
import type { Handler } from "./route-table.js";
import type { RequestState, WithState } from "./route-types.js";

/** @internal what a group adds its routes and middleware to, full paths given: the App. */
export interface RouteRegistry {
  route(method: string, path: string, handler: Handler, name?: string, schemas?: unknown): void;
  sse(path: string, options: SseOptions | undefined, handler: SseHandler | undefined): void;
  websocket(
    path: string,
    options: WebSocketRouteOptions | undefined,
    handler: WebSocketHandler | undefined,
  ): void;
  use(pattern: string, middleware: unknown): void;
  realtime(path: string, options: unknown): void;
}

/**
 * Routes under a path prefix, with middleware of their own: what `app.group(prefix, build)`
 * hands to `build`. Its route methods take paths relative to the prefix (`"/"` is the prefix
 * itself), `use(middleware)` guards the prefix and everything under it (and nothing else),
 * and groups nest. It only registers on the app: the routes and middleware are the app's,
 * in the order they were added.
 *
 * ```ts
 * app.group("/admin", (admin) => {
 *   admin.use(bearerAuth({ verify }));  // /admin, /admin/users, any 404 under /admin/
 *   admin.get("/users", listUsers);     // GET /admin/users
 *   admin.websocket("/live", live);     // the upgrade goes through the guard first
 * });
 * ```
 */
export class RouteGroup<Prefix extends string, State extends object> extends RouteMethods<
  Prefix,
  State
> {
  /** The full prefix, the enclosing groups' included (`/api/admin`). */
  readonly prefix: Prefix;
  readonly #registry: RouteRegistry;

  /** @internal made by `app.group()`, with a prefix it has checked. */
  constructor(prefix: Prefix, registry: RouteRegistry) {
    super();
    this.prefix = prefix;
    this.#registry = registry;
  }

  /**
   * Middleware for this group's paths only: the prefix and everything under it, or, given
   * a pattern relative to the prefix (`"/reports/*"`), the paths it matches. It runs, in
   * the app's registration order, before the HTTP, SSE and WebSocket routes it covers, and
   * for 404 and 405 answers under them. Chained, it types `req.state` for the group's routes:
   * `g.use(bearerAuth<User>(...)).get("/me", (req) => req.state.auth)`.
   */
  use<Adds extends object>(
    middleware: Middleware<Adds, RequestState<State>>,
  ): [keyof Adds] extends [never] ? this : RouteGroup<Prefix, WithState<State, Adds>>;
  /** Middleware for the paths `path` matches, relative to the prefix (`"/reports/*"`). */
  use(path: string, middleware: Middleware<object, RequestState<State>>): this;
  use(pathOrMiddleware: unknown, middleware?: unknown): this {
    if (middleware === undefined && typeof pathOrMiddleware !== "string") {
      this.#registry.use(`${this.prefix}/*`, pathOrMiddleware);
    } else {
      this.#registry.use(this.#full(pathOrMiddleware, "use"), middleware);
    }
    return this;
  }

  /** A group inside this one: its prefix is relative to this group's. */
  group<Sub extends string>(
    prefix: Sub,
    build: (group: RouteGroup<`${Prefix}${Sub}`, State>) => void,
  ): this {
    buildGroup(`${this.prefix}${checkPrefix(prefix)}` as `${Prefix}${Sub}`, build, this.#registry);
    return this;
  }

  /** @internal */
  protected register(
    method: string,
    path: string,
    handler: Handler,
    name?: string,
    schemas?: unknown,
  ): void {
    this.#registry.route(method, this.#full(path, "route"), handler, name, schemas);
  }

  /** @internal */
  protected registerSse(
    path: string,
    options: SseOptions | undefined,
    handler: SseHandler | undefined,
  ): void {
    this.#registry.sse(this.#full(path, "sse"), options, handler);
  }

  /** @internal */
  protected registerWebSocket(
    path: string,
    options: WebSocketRouteOptions | undefined,
    handler: WebSocketHandler | undefined,
  ): void {
    this.#registry.websocket(this.#full(path, "websocket"), options, handler);
  }

  /** @internal */
  protected registerRealtime(path: string, options: unknown): void {
    this.#registry.realtime(this.#full(path, "realtime"), options);
  }

  /** `/` is the prefix itself, as in Hono's `app.route()`; anything else is appended. */
  #full(path: unknown, method: string): string {
    if (typeof path !== "string" || !path.startsWith("/")) {
      throw new TypeError(
        `group("${this.prefix}").${method}(): the path must start with "/" (relative to the prefix; "/" is the prefix itself), got ${JSON.stringify(path)}`,
      );
    }
    return path === "/" ? this.prefix : `${this.prefix}${path}`;
  }
}

/** @internal runs `build` on a new group, once its prefix is checked. */
export function buildGroup<Prefix extends string, State extends object>(
  prefix: Prefix,
  build: (group: RouteGroup<Prefix, State>) => void,
  registry: RouteRegistry,
): void {
  if (typeof build !== "function") {
    throw new TypeError(`group("${prefix}", build): build must be a function that adds routes`);
  }
  const result: unknown = build(new RouteGroup<Prefix, State>(prefix, registry));
  if (result instanceof Promise) {
    throw new TypeError(
      `group("${prefix}", build): build must add its routes synchronously, not return a promise`,
    );
  }
}

/** @internal a group's prefix: a path like `/admin` or `/orgs/:org`, no trailing `/`, no `*`. */
export function checkPrefix<Prefix extends string>(prefix: Prefix): Prefix {
  if (typeof prefix !== "string" || !prefix.startsWith("/") || prefix.endsWith("/")) {
    throw new TypeError(
      `group(prefix): the prefix must be a path like "/admin" (starting with "/", not ending with it), got ${JSON.stringify(prefix)}`,
    );
  }
  if (prefix.split("/").includes("*")) {
    throw new TypeError(`group("${prefix}"): a prefix cannot hold a "*" wildcard`);
  }
  return prefix;
}
