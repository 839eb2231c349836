import type { Logger } from "pino";
import type { SluiceRequest } from "../http/request.js";
import { logSafely } from "../util/logger.js";

// Auth middleware that takes its token from the subprotocol list (bearerAuth's and jwtAuth's
// `subprotocol: "bearer"`) needs the route to list that marker in `protocols`: the server must
// select a protocol the client offered, and the token itself is never one. Without it no
// protocol is selected and browsers fail the handshake with nothing logged on the server.
// Middleware and routes are registered in any order, and middleware may be wrapped or scoped
// to some paths, so which auth ran for which route is only known at an upgrade: the middleware
// notes its marker on the request, and the route's checks warn once when it is not listed.

const markers = new WeakMap<SluiceRequest, string>();
/** The routes (by their resolved options) already warned about. */
const warned = new WeakSet<object>();

/**
 * @internal Auth middleware that reads a token after `marker` in the subprotocol list ran on
 * this upgrade request.
 */
export function noteAuthSubprotocol(request: SluiceRequest, marker: string): void {
  markers.set(request, marker);
}

/**
 * Warns once per route when auth middleware on this upgrade reads its token after a marker
 * the route's `protocols` does not list.
 */
export function warnIfAuthSubprotocolUnlisted(
  route: { path: string; options: { protocols: readonly string[] } },
  request: SluiceRequest,
  logger: Logger,
): void {
  const marker = markers.get(request);
  if (marker === undefined) return;
  markers.delete(request);
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
