import type { SluiceRequest } from "../http/request.js";
import { type LookupResult, Router } from "../http/router.js";

export type Handler = (request: SluiceRequest) => unknown;

/**
 * A route described as data, for `app.addRoute()`: `method` is an HTTP method or "WS",
 * `handler_name` names the route, `is_async` is accepted and changes nothing (any handler may
 * return a promise).
 */
export interface RouteDefinition {
  method: string;
  path: string;
  handler_name?: string;
  is_async?: boolean;
}

export interface Route {
  method: string;
  path: string;
  name: string | undefined;
  handler: Handler;
}

const METHOD_TOKEN = /^[A-Z][A-Z0-9_-]*$/;

/** The app's HTTP routes: checked as they are added, looked up for each request. */
export class RouteTable {
  readonly #router = new Router<Route>();
  readonly #paths: string[] = [];

  /** Every route path added, in order (for start-up checks). */
  get paths(): readonly string[] {
    return this.#paths;
  }

  /** `method` "*" stands for any method not registered on the same path by name. */
  add(method: string, path: string, handler: Handler, name?: string): void {
    const upper = method.toUpperCase();
    if (upper !== "*" && !METHOD_TOKEN.test(upper))
      throw new TypeError(`Invalid HTTP method "${method}"`);
    if (typeof handler !== "function")
      throw new TypeError(`Route ${upper} ${path} needs a handler function`);
    this.#router.add(upper, path, { method: upper, path, name, handler });
    this.#paths.push(path);
  }

  /** The request's route; when found, its params and route path are set on the request. */
  lookup(request: SluiceRequest): LookupResult<Route> {
    const lookup = this.#router.lookup(methodsToTry(request.method), request.path);
    if (lookup.kind === "found") {
      request.params = lookup.match.params;
      request.routePath = lookup.match.value.path;
    }
    return lookup;
  }
}

const HEAD_OR_GET = ["HEAD", "GET"];
const singleMethods = new Map<string, string[]>();

/** HEAD falls back to GET; the arrays are shared so routing allocates nothing per request. */
function methodsToTry(method: string): readonly string[] {
  if (method === "HEAD") return HEAD_OR_GET;
  let methods = singleMethods.get(method);
  if (!methods) {
    methods = [method];
    singleMethods.set(method, methods);
  }
  return methods;
}
