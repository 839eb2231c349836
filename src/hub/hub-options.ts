/**
 * What `sluice hub` runs with, once its flags, `SLUICE_*` environment variables and config
 * file are read and checked (see hub-config.ts): every field is valid and defaults are filled.
 */
export interface HubOptions {
  /** TCP port (default 8080; 0: any free one). */
  readonly port: number;
  /** Interface to listen on (default "0.0.0.0"). */
  readonly host: string;
  /** Redis URL: the Redis broker (instances share topics). Absent: the memory broker. */
  readonly redis: string | undefined;
  /** Messages kept per topic for replay and history (default 1 000). */
  readonly history: number;
  /** JWT checks for subscribers (and publishers that send a JWT); absent: no JWT accepted. */
  readonly jwt: HubJwtOptions | undefined;
  /** API keys a publisher sends as `Authorization: Bearer <key>`: each may publish to any allowed topic. */
  readonly publishKeys: readonly string[];
  /** Origins allowed by CORS (`*` for any); empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /**
   * Topic patterns (as app.realtime()'s lists: `*` is one or more characters other than `:`)
   * that exist on this hub at all: a topic none matches is refused whatever a key or token
   * allows. Default ANY_TOPIC (hub-config.ts): `*`, `*:*`, ... up to 16 parts.
   */
  readonly topics: readonly string[];
  /** Most long-lived connections (SSE streams + WebSockets: AppOptions.maxConnections), and per client IP. */
  readonly maxConnections: number | undefined;
  readonly maxConnectionsPerIp: number | undefined;
  /**
   * The header a trusted proxy in front of the hub sets to the client's address (lower-case),
   * which `maxConnectionsPerIp` then counts by; absent: the TCP peer's address.
   */
  readonly clientIpHeader: string | undefined;
  /**
   * Processes serving the port (node:cluster): 1 runs the hub in this process; more start a
   * primary that forks so many workers, each an instance on the Redis broker (required).
   */
  readonly workers: number;
  /** Largest publish request body, in bytes (default 1 MiB). */
  readonly maxBody: number;
  /** Publishes per publisher (key or JWT subject): a burst, then so many per second (default 200/100). */
  readonly publishRate: { readonly burst: number; readonly perSecond: number };
}

/** How JWTs are checked: as jwtAuth() takes them; the claim listing topics is `topicsClaim`. */
export interface HubJwtOptions {
  readonly secret: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** Algorithms accepted (default HS256 with a secret, RS256 and ES256 with a JWKS URL). */
  readonly algorithms: readonly string[];
  /** The claim listing the topics a token may subscribe and publish to (default "topics"). */
  readonly topicsClaim: string;
}
