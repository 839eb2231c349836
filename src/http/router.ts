/**
 * A segment trie: static segments first, then a `:param`, then a trailing `*` wildcard, with
 * backtracking so that `/users/new` (static, GET only) does not hide `POST /users/:id`.
 * It matches the request's canonical path (`canonical-path.ts`: already percent-decoded, so
 * `/caf%C3%A9` arrives as `/café`), the same string middleware saw: it never decodes again.
 */
export interface RouteMatch<T> {
  value: T;
  params: Record<string, string>;
}

export type LookupResult<T> =
  | { kind: "found"; match: RouteMatch<T> }
  | { kind: "method-not-allowed"; allowed: string[] }
  | { kind: "not-found" };

class RouteNode<T> {
  readonly statics = new Map<string, RouteNode<T>>();
  param: { name: string; node: RouteNode<T> } | undefined;
  wildcard: RouteNode<T> | undefined;
  readonly byMethod = new Map<string, T>();
}

export class Router<T> {
  private readonly root = new RouteNode<T>();
  /** Fast path for routes without params: full path -> node. */
  private readonly staticPaths = new Map<string, RouteNode<T>>();

  add(method: string, path: string, value: T): void {
    const segments = splitRoutePath(path);
    let node = this.root;
    let dynamic = false;
    segments.forEach((segment, index) => {
      if (segment === "*") {
        if (index !== segments.length - 1) {
          throw new Error(`Route "${path}": a "*" wildcard must be the last segment`);
        }
        node.wildcard ??= new RouteNode<T>();
        node = node.wildcard;
        dynamic = true;
      } else if (segment.startsWith(":")) {
        node = this.paramChild(node, segment.slice(1), path);
        dynamic = true;
      } else {
        node = getOrCreate(node.statics, segment);
      }
    });
    if (node.byMethod.has(method)) {
      throw new Error(`Route ${method} ${path} is already registered`);
    }
    node.byMethod.set(method, value);
    if (!dynamic) this.staticPaths.set(normaliseStaticPath(segments), node);
  }

  /** `methods` lists the methods to try in order (e.g. HEAD then GET). */
  lookup(
    methods: readonly string[],
    path: string,
    ignore?: (method: string) => boolean,
  ): LookupResult<T> {
    const staticNode = this.staticPaths.get(path);
    if (staticNode) {
      const value = pickMethod(staticNode, methods);
      if (value !== undefined) return { kind: "found", match: { value, params: {} } };
    }
    const segments = path.split("/").slice(1);
    const found: FoundState<T> = { pathNodes: [] };
    const match = walk(this.root, segments, 0, methods, {}, found);
    if (match) return { kind: "found", match };
    const allowed = allowedMethods(found.pathNodes, ignore);
    if (allowed.length > 0) return { kind: "method-not-allowed", allowed };
    return { kind: "not-found" };
  }

  private paramChild(node: RouteNode<T>, name: string, path: string): RouteNode<T> {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      throw new Error(`Route "${path}": invalid parameter name ":${name}"`);
    }
    if (node.param && node.param.name !== name) {
      throw new Error(
        `Route "${path}": parameter ":${name}" conflicts with ":${node.param.name}" at the same position`,
      );
    }
    node.param ??= { name, node: new RouteNode<T>() };
    return node.param.node;
  }
}

/** Every route node whose pattern matched the path, whatever its methods: for `Allow`. */
interface FoundState<T> {
  pathNodes: RouteNode<T>[];
}

function walk<T>(
  node: RouteNode<T>,
  segments: string[],
  index: number,
  methods: readonly string[],
  params: Record<string, string>,
  found: FoundState<T>,
): RouteMatch<T> | undefined {
  if (index === segments.length) {
    const direct = terminal(node, methods, params, found);
    if (direct) return direct;
    // `/files/*` also matches `/files` itself, with an empty wildcard.
    if (node.wildcard) return terminal(node.wildcard, methods, { ...params, "*": "" }, found);
    return undefined;
  }
  const segment = segments[index];
  const staticChild = node.statics.get(segment);
  if (staticChild) {
    const match = walk(staticChild, segments, index + 1, methods, params, found);
    if (match) return match;
  }
  if (node.param && segment !== "") {
    const withParam = { ...params, [node.param.name]: segment };
    const match = walk(node.param.node, segments, index + 1, methods, withParam, found);
    if (match) return match;
  }
  if (node.wildcard) {
    const rest = segments.slice(index).join("/");
    return terminal(node.wildcard, methods, { ...params, "*": rest }, found);
  }
  return undefined;
}

function terminal<T>(
  node: RouteNode<T>,
  methods: readonly string[],
  params: Record<string, string>,
  found: FoundState<T>,
): RouteMatch<T> | undefined {
  if (node.byMethod.size === 0) return undefined;
  if (!found.pathNodes.includes(node)) found.pathNodes.push(node);
  const value = pickMethod(node, methods);
  return value === undefined ? undefined : { value, params };
}

function pickMethod<T>(node: RouteNode<T>, methods: readonly string[]): T | undefined {
  for (const method of methods) {
    const value = node.byMethod.get(method);
    if (value !== undefined) return value;
  }
  return node.byMethod.get("*");
}

function allowedMethods<T>(nodes: RouteNode<T>[], ignore?: (method: string) => boolean): string[] {
  const allowed = new Set<string>();
  for (const node of nodes) {
    for (const method of node.byMethod.keys()) {
      if (method !== "*" && !ignore?.(method)) allowed.add(method);
    }
  }
  if (allowed.has("GET")) allowed.add("HEAD");
  return [...allowed];
}

function splitRoutePath(path: string): string[] {
  if (!path.startsWith("/")) throw new Error(`Route path must start with "/": "${path}"`);
  return path.split("/").slice(1);
}

function normaliseStaticPath(segments: string[]): string {
  return `/${segments.join("/")}`;
}

function getOrCreate<T>(map: Map<string, RouteNode<T>>, key: string): RouteNode<T> {
  let node = map.get(key);
  if (!node) {
    node = new RouteNode<T>();
    map.set(key, node);
  }
  return node;
}
