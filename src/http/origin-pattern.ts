// Allowed origins, as `cors({ origin })` and a WebSocket route's `origins` take them: exact
// origins, and patterns with `*` as the port (`http://localhost:*`, a dev server on any port)
// or as the leftmost host label (`https://*.example.com`, any subdomain). One matcher for both,
// so a list means the same thing in either place.

/** `null`, or `scheme://host[:port]` as browsers serialise it (a bracketed IPv6 host included). */
const SERIALISED_ORIGIN =
  /^(?:null|[a-z][a-z0-9+.-]*:\/\/(?:\[[0-9a-f:.]+\]|[a-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]{1,5})?)$/i;
/** Longer than any real origin (a host name is at most 253 bytes). */
const MAX_ORIGIN_LENGTH = 1024;

/** A DNS name (letters, digits, hyphens; labels joined by dots), or an IPv4 address. */
const DNS_NAME = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*";
/** An origin taken apart, lowercased: scheme, host and port (absent for the default one). */
const ORIGIN_PARTS = new RegExp(
  `^([a-z][a-z0-9+.-]*)://(${DNS_NAME}|\\[[0-9a-f:.]+\\])(?::([0-9]{1,5}))?$`,
);
/** A pattern: the same, with an optional `*.` before the host and `*` allowed as the port. */
const PATTERN_PARTS = new RegExp(
  `^([a-z][a-z0-9+.-]*)://(\\*\\.)?(${DNS_NAME}|\\[[0-9a-f:.]+\\])(?::(\\*|[0-9]{1,5}))?/?$`,
);
const DEFAULT_PORTS: Record<string, string> = { http: "80", https: "443", ws: "80", wss: "443" };

interface OriginParts {
  scheme: string;
  host: string;
  /** The port, the scheme's default one filled in ("" when the scheme has none). */
  port: string;
}

type PatternTest = (origin: OriginParts) => boolean;

/** @internal True for what a browser may send as `Origin`: a serialised origin, or `null`. */
export function isWellFormedOrigin(origin: string): boolean {
  return origin.length <= MAX_ORIGIN_LENGTH && SERIALISED_ORIGIN.test(origin);
}

/** @internal True for a list entry to read as a pattern rather than as one origin. */
export function isOriginPattern(entry: unknown): entry is string {
  return typeof entry === "string" && entry.includes("*") && entry !== "*";
}

/**
 * @internal Whether an `Origin` is allowed by a list: `exact` normalises (and checks) each
 * entry that is not a pattern, patterns are checked here; `where` starts the TypeError's
 * message for a bad one ("cors():", "WebSocket route /ws:").
 */
export function originListMatcher(
  entries: readonly unknown[],
  exact: (entry: unknown) => string,
  where: string,
): (origin: string) => boolean {
  const origins = new Set<string>();
  const patterns: PatternTest[] = [];
  for (const entry of entries) {
    if (isOriginPattern(entry)) patterns.push(compilePattern(entry, where));
    else origins.add(exact(entry));
  }
  if (patterns.length === 0) return (origin) => origins.has(origin.toLowerCase());
  return (origin) => {
    const lower = origin.toLowerCase();
    if (origins.has(lower)) return true;
    if (lower.length > MAX_ORIGIN_LENGTH) return false;
    const parts = originParts(lower);
    return parts !== undefined && patterns.some((test) => test(parts));
  };
}

function originParts(origin: string): OriginParts | undefined {
  const match = ORIGIN_PARTS.exec(origin);
  if (!match) return undefined;
  const [, scheme, host, port] = match;
  return { scheme, host, port: port ?? DEFAULT_PORTS[scheme] ?? "" };
}

function compilePattern(pattern: string, where: string): PatternTest {
  const match = PATTERN_PARTS.exec(pattern.toLowerCase());
  if (!match) {
    throw new TypeError(
      `${where} "${pattern}" is not an origin pattern: write a whole origin (scheme://host[:port], ` +
        'no path), with * only as the port ("http://localhost:*") or as the leftmost label of ' +
        'the host ("https://*.example.com")',
    );
  }
  const [, scheme, wildcard, host, port] = match;
  if (wildcard !== undefined) checkWildcardHost(pattern, host, where);
  if (port !== undefined && port !== "*" && !isPort(port)) {
    throw new TypeError(`${where} "${pattern}": the port must be from 1 to 65535, or *`);
  }
  const anyPort = port === "*";
  // As browsers write it: no leading zeros, no default port.
  const wantedPort = port === undefined ? (DEFAULT_PORTS[scheme] ?? "") : String(Number(port));
  const suffix = `.${host}`;
  return (origin) =>
    origin.scheme === scheme &&
    (anyPort || origin.port === wantedPort) &&
    (wildcard === undefined ? origin.host === host : origin.host.endsWith(suffix));
}

/** `*.example.com` stands for the subdomains of a name of your own, never of a TLD or an IP. */
function checkWildcardHost(pattern: string, host: string, where: string): void {
  if (host.startsWith("[") || /^[0-9.]+$/.test(host)) {
    throw new TypeError(`${where} "${pattern}": * can stand for a subdomain, not part of an IP`);
  }
  if (!host.includes(".")) {
    throw new TypeError(
      `${where} "${pattern}" would allow every site under ".${host}": name your own domain ` +
        '("https://*.example.com")',
    );
  }
}

function isPort(text: string): boolean {
  const port = Number(text);
  return port >= 1 && port <= 65535;
}
