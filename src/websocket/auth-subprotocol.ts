import type { Logger } from "pino";
import type { Middleware } from "../http/middleware-chain.js";
import type { SluiceRequest } from "../http/request.js";
import { logSafely } from "../util/logger.js";

// Auth middleware that takes its token from the subprotocol list (bearerAuth's and jwtAuth's
// `subprotocol: "bearer"`) needs the route to list that marker in `protocols`: the server must
// select a protocol the client offered, and the token itself is never one. Without it no
// protocol is selected and browsers fail the handshake with nothing logged on the server.
// Middleware and routes are registered in any order, so the check runs when the app starts
// listening: the auth middleware carries its marker, and each WebSocket route is checked
// against the middleware its path goes through. Middleware the user wrapped hides its marker,
// and an app mounted on a server of its own never calls listen(): the middleware also notes
// its marker on each upgrade request, and the route's checks warn then. Once per route.

const markers = new WeakMap<SluiceRequest, string>();
const MARKER = Symbol("sluice.authSubprotocol");
/** The routes (by their resolved options) already warned about. */
const warned = new WeakSet<object>();

/**
 * @internal Auth middleware that reads a token after `marker` in the subprotocol list ran on
 * this upgrade request.
 */
export function noteAuthSubprotocol(request: SluiceRequest, marker: string): void {
  markers.set(request, marker);
}

/** @internal Marks auth middleware that reads a token after `marker` in the subprotocol list. */
export function markAuthSubprotocol<M extends Middleware>(middleware: M, marker: string): M {
  Object.defineProperty(middleware, MARKER, { value: marker });
  return middleware;
}

interface CheckedRoute {
  path: string;
  options: { protocols: readonly string[] };
}

/**
 * At startup: warns once per route whose path goes through marked auth middleware while its
 * `protocols` do not list the marker.
 */
export function warnUnlistedAuthSubprotocols(
  routes: Iterable<CheckedRoute>,
  middlewareFor: (path: string) => readonly Middleware[],
  logger: Logger,
): void {
  for (const route of routes) {
    for (const middleware of middlewareFor(route.path)) {
      const marker = (middleware as { [MARKER]?: string })[MARKER];
      if (marker !== undefined) warnOnce(route, marker, logger);
    }
  }
}

/**
 * Warns once per route when auth middleware on this upgrade reads its token after a marker
 * the route's `protocols` does not list.
 */
export function warnIfAuthSubprotocolUnlisted(
  route: CheckedRoute,
  request: SluiceRequest,
  logger: Logger,
): void {
  const marker = markers.get(request);
  if (marker === undefined) return;
  markers.delete(request);
  warnOnce(route, marker, logger);
}

function warnOnce(route: CheckedRoute, marker: string, logger: Logger): void {
  const { protocols } = route.options;
  if (protocols.includes(marker) || warned.has(route.options)) return;
  warned.add(route.options);
  const fixed = [...protocols, marker].map((name) => JSON.stringify(name)).join(", ");
  logSafely(
    logger,
    "warn",
    { route: route.path, subprotocol: marker },
    `WebSocket route ${route.path}: the auth middleware takes its token from the "${marker}" ` +
      `subprotocol, but the route's protocols option does not list "${marker}", so browsers ` +
      `that offer it fail the handshake ("Server sent no subprotocol"). Set protocols: ` +
      `app.websocket(${JSON.stringify(route.path)}, { protocols: [${fixed}] }, handler)`,
  );
}
