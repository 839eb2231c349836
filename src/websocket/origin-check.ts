import { originListMatcher } from "../http/origin-pattern.js";
import type { SluiceRequest } from "../http/request.js";

// Which browser origins may open a WebSocket on a route: its `origins` option, checked when the
// route is added, and the same-origin default.

/** Decides on one upgrade's `Origin` header. */
type OriginTest = (origin: string, request: SluiceRequest) => boolean;

/** What a route's `origins` option may be (see `WebSocketOptions.origins`). */
type OriginsOption = readonly string[] | "*" | OriginTest | undefined;

/** How a route's origins are decided: by default, by a list (patterns included), by a function, or not at all. */
export type OriginPolicy = "same-origin" | "list" | "function" | "any";

/** Checks a route's `origins` option; undefined lets every origin in. */
export function originCheck(where: string, origins: OriginsOption): OriginTest | undefined {
  if (origins === undefined) return isSameOrigin;
  if (origins === "*") return undefined;
  if (typeof origins === "function") return origins;
  if (!Array.isArray(origins)) {
    throw new TypeError(`${where} origins must be an array of origins, "*" or a function`);
  }
  return originListMatcher(origins, (origin) => normaliseOrigin(where, origin), where);
}

/** Which kind of `origins` a route has, for what a refusal's log line suggests. */
export function originPolicyOf(origins: OriginsOption): OriginPolicy {
  if (origins === undefined) return "same-origin";
  if (origins === "*") return "any";
  return typeof origins === "function" ? "function" : "list";
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443" };

/** The default check: the Origin names the host the request was sent to (ports compared too). */
function isSameOrigin(origin: string, request: SluiceRequest): boolean {
  const host = request.header("host");
  if (host === undefined) return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and garbage are not our page
  }
  const port = parsed.port || DEFAULT_PORTS[parsed.protocol];
  if (port === undefined) return false;
  return hostWithPort(host, port) === `${parsed.hostname}:${port}`.toLowerCase();
}

/** `App.example` -> `app.example:<default port>`; `[::1]:3000` stays as it is. */
function hostWithPort(host: string, defaultPort: string): string {
  const lower = host.trim().toLowerCase();
  return /:\d+$/.test(lower) ? lower : `${lower}:${defaultPort}`;
}

/** `https://App.example/` -> `https://app.example`; a path or a non-origin is refused. */
function normaliseOrigin(where: string, origin: unknown): string {
  if (origin === "null") return origin;
  let parsed: URL | undefined;
  try {
    parsed = typeof origin === "string" ? new URL(origin) : undefined;
  } catch {}
  const trimmed = typeof origin === "string" ? origin.replace(/\/$/, "").toLowerCase() : "";
  if (!parsed || parsed.origin === "null" || parsed.origin !== trimmed) {
    throw new TypeError(
      `${where} "${String(origin)}" is not an origin (scheme://host[:port], no path)`,
    );
  }
  return parsed.origin;
}
