import type { ConnectionOptions } from "node:tls";

/**
 * ioredis options for the Redis broker's connections. The usual ones are typed here; any
 * other option of ioredis (5 or 6) is passed on as given. Declared by sluice rather than
 * taken from ioredis, so that sluice/redis's types are the same whichever ioredis is
 * installed and need nothing of what ioredis's own declarations import. For ioredis's own
 * checking of every option, write `redis: { ... } satisfies RedisOptions`, the type ioredis
 * exports.
 */
export interface RedisClientOptions {
  host?: string;
  port?: number;
  /** A Unix socket, instead of host and port. */
  path?: string;
  username?: string;
  password?: string;
  db?: number;
  /** TLS options; a `rediss://` url turns TLS on by itself. */
  tls?: ConnectionOptions;
  /** 4 or 6: the IP version to connect with. */
  family?: number;
  /** Milliseconds a connection attempt may take. */
  connectTimeout?: number;
  /** Milliseconds a command may take before it fails. Default 5 000. */
  commandTimeout?: number;
  /**
   * The milliseconds to wait before reconnection attempt `times` (1 for the first); anything
   * but a number stops reconnecting. Default: 100 ms more per attempt, at most 2 s.
   */
  retryStrategy?: ((times: number) => unknown) | null;
  /** Shown by CLIENT LIST, followed by ":commands" or ":subscriber". Default "sluice". */
  connectionName?: string;
  // `any`, not `unknown`: only an index signature of `any` takes a value typed with ioredis's
  // own RedisOptions (an interface, which has no index signature of its own).
  // biome-ignore lint/suspicious/noExplicitAny: see above
  [option: string]: any;
}
