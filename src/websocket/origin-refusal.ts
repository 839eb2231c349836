import { HttpError } from "../http/http-error.js";
import { isWellFormedOrigin } from "../http/origin-pattern.js";
import type { SluiceRequest } from "../http/request.js";
import { logSafely } from "../util/logger.js";
import type { OriginPolicy } from "./origin-check.js";

/**
 * The 403 for an upgrade from an origin the route does not let in. The answer only names the
 * origin (a browser never shows it to the page anyway); the log line, at info since refusing
 * other sites is the check working, says which option lets that origin in: a page on a dev
 * server's port (Vite's :5173) is refused by the same-origin default, and nothing else would
 * tell the developer why.
 */
export function refuseOrigin(
  route: { path: string; options: { originPolicy: OriginPolicy } },
  origin: string,
  request: SluiceRequest,
): HttpError {
  const refusal = `Origin ${origin} may not open a WebSocket on ${request.path}`;
  logSafely(
    request.log,
    "info",
    { origin, route: route.path },
    `${refusal}: ${howToAllow(route.path, route.options.originPolicy, origin, request)}`,
  );
  return new HttpError(403, refusal);
}

function howToAllow(
  path: string,
  policy: OriginPolicy,
  origin: string,
  request: SluiceRequest,
): string {
  if (policy === "function") return "the route's origins function refused it";
  const route = `app.websocket(${JSON.stringify(path)}, ...)`;
  // What the client sent is only quoted back as a setting when it is a real origin: "null"
  // comes from sandboxed frames and file: pages, which any site can make.
  if (origin.toLowerCase() === "null" || !isWellFormedOrigin(origin)) {
    return `it is not an origin to allow; the route's allowed origins are its origins option on ${route}`;
  }
  const quoted = JSON.stringify(origin.toLowerCase());
  const change =
    policy === "same-origin"
      ? `by default only the page's own origin may connect; a list replaces that default, so to let it in keep the app's own origin in it: set origins: [${ownOrigin(request)}, ${quoted}] on ${route}`
      : `it is not in the route's origins; to let it in, add ${quoted} to origins on ${route}`;
  return `${change} (a pattern such as "http://localhost:*" allows any port)`;
}

/**
 * The app's own origin as this request shows it (the Host it was sent to), quoted for the
 * suggested setting; behind a proxy that ends TLS the scheme is the proxy's, not this one.
 */
function ownOrigin(request: SluiceRequest): string {
  const scheme = (request.raw.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  const host = request.header("host");
  return host ? JSON.stringify(`${scheme}://${host.toLowerCase()}`) : '"<your app\'s origin>"';
}
