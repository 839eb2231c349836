/**
 * Every setting of `sluice hub`, each reachable three ways: a flag (`--max-body`), an
 * environment variable (`SLUICE_MAX_BODY`) and a key of the JSON config file (`maxBody`).
 * A list setting takes its flag several times or comma-separated, a comma-separated variable,
 * and an array (or a comma-separated string) in the file. The help text and docs/hub.md are
 * written from this table.
 */
export interface HubSetting {
  /** The config file key, camelCase: the flag's name, plural for a list. */
  readonly key: string;
  /** The flag, without its `--`. */
  readonly flag: string;
  /** The environment variable. */
  readonly env: string;
  /** True for a list: the flag repeats, the variable and a string are comma-separated. */
  readonly list: boolean;
  /** What the value is, in the help text: `N`, `URL`... */
  readonly value: string;
  /** The default, in words. */
  readonly fallback: string;
  readonly help: string;
}

function setting(
  key: string,
  flag: string,
  value: string,
  fallback: string,
  help: string,
  list = false,
): HubSetting {
  const env = `SLUICE_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
  return { key, flag, env, list, value, fallback, help };
}

/** Topic segments the default `topics` covers: `*`, `*:*`, ... up to this many parts. */
export const DEFAULT_TOPIC_DEPTH = 16;

export const HUB_SETTINGS: readonly HubSetting[] = [
  setting("config", "config", "FILE", "none", "JSON file of settings (keys below)"),
  setting("port", "port", "N", "8080", "TCP port (0: any free one)"),
  setting("host", "host", "HOST", "0.0.0.0", "interface to listen on"),
  setting("redis", "redis", "URL", "memory broker", "Redis broker URL (redis:// or rediss://)"),
  setting("history", "history", "N", "1000", "messages kept per topic for replay and history"),
  setting("jwtSecret", "jwt-secret", "SECRET", "none", "HS256 secret verifying JWTs (32+ bytes)"),
  setting("jwksUrl", "jwks-url", "URL", "none", "JWKS URL verifying JWTs (RS256, ES256...)"),
  setting("jwtIssuer", "jwt-issuer", "ISS", "any", "accepted JWT iss"),
  setting("jwtAudience", "jwt-audience", "AUD", "any", "accepted JWT aud"),
  setting(
    "jwtAlgorithms",
    "jwt-algorithms",
    "ALG",
    "HS256 (secret), RS256,ES256 (JWKS)",
    "accepted JWT algorithms",
    true,
  ),
  setting(
    "topicsClaim",
    "topics-claim",
    "CLAIM",
    "topics",
    "JWT claim { subscribe: [...], publish: [...] } of topic patterns",
  ),
  setting(
    "publishKeys",
    "publish-key",
    "KEY",
    "none",
    "API key of publishers (16+ characters), repeatable",
    true,
  ),
  setting(
    "corsOrigins",
    "cors-origin",
    "ORIGIN",
    "no CORS",
    "origin allowed by CORS (`*`, https://app.example, https://*.example.com), repeatable",
    true,
  ),
  setting(
    "topics",
    "topics",
    "PATTERN",
    `any topic (${DEFAULT_TOPIC_DEPTH} parts at most)`,
    "topic patterns the hub serves (chat:*), repeatable",
    true,
  ),
  setting(
    "maxConnections",
    "max-connections",
    "N",
    "no limit",
    "open SSE streams + WebSockets at most",
  ),
  setting(
    "maxConnectionsPerIp",
    "max-connections-per-ip",
    "N",
    "no limit",
    "open SSE streams + WebSockets per client address",
  ),
  setting(
    "clientIpHeader",
    "client-ip-header",
    "NAME",
    "none: the TCP peer",
    "header a trusted proxy sets to the client address, counted by --max-connections-per-ip (x-forwarded-for: its last entry)",
  ),
  setting(
    "workers",
    "workers",
    "N|auto",
    "1",
    "processes sharing the port (node:cluster), each on the Redis broker; auto: one per core",
  ),
  setting("maxBody", "max-body", "BYTES", "1048576", "largest request body"),
  setting(
    "publishRate",
    "publish-rate",
    "BURST/PER_S",
    "200/100",
    "publishes per publisher: a burst, then so many a second",
  ),
];
