import type { Redis, RedisOptions } from "ioredis";
import { ioredis } from "./ioredis-peer.js";
import type { BrokerLogger, ResolvedOptions } from "./options.js";
import { PUBLISH_COMMAND, PUBLISH_SCRIPT } from "./publish-script.js";
import type { RecoveryCount } from "./recovery-count.js";

/** How long a command may take, and how long to wait for a connection attempt under way. */
export const DEFAULT_COMMAND_TIMEOUT = 5000;

/** Reconnects soon after Redis comes back: 100 ms, 200 ms… up to 2 s between attempts. */
function retryStrategy(times: number): number {
  return Math.min(times * 100, 2000) + Math.floor(Math.random() * 50);
}

/**
 * The command connection, with the publish script defined on it. The script takes one key,
 * or two with a dedupe key: the count comes first.
 */
export type CommandConnection = Redis & {
  [PUBLISH_COMMAND](numberOfKeys: 1 | 2, ...keysAndArgs: string[]): Promise<string>;
};

export type Role = "commands" | "subscriber";

/**
 * One of the broker's two connections, with what the broker's guarantees rest on: commands
 * fail at once while Redis is unreachable instead of waiting in an offline queue, and are
 * never retried or resent after a reconnection (a publish must not be stored twice); the
 * broker resubscribes itself, to catch up from the log before going live again.
 */
export function connect(options: ResolvedOptions, role: Role): Redis {
  // The user's options go to ioredis as given: ioredis checks them, as it always has.
  const user = options.redis as RedisOptions;
  const redisOptions: RedisOptions = {
    commandTimeout: DEFAULT_COMMAND_TIMEOUT,
    retryStrategy,
    // How long disconnect() leaves a socket to close before destroying it. ioredis waits that
    // long even when the socket is already gone (between reconnection attempts), holding the
    // process open after close() by as much: the default is 2 s.
    disconnectTimeout: 100,
    ...user,
    connectionName: `${user.connectionName ?? "sluice"}:${role}`,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
  };
  const redis =
    options.url === undefined
      ? new ioredis.Redis(redisOptions)
      : new ioredis.Redis(options.url, redisOptions);
  if (role === "commands") {
    // Without numberOfKeys, ioredis takes the count as the first argument of each call.
    redis.defineCommand(PUBLISH_COMMAND, { lua: PUBLISH_SCRIPT });
  }
  return redis;
}

/**
 * Resolves when `redis` can take a command now. Waits only for a connection attempt under way
 * (the first one, just after creation, or a reconnection), at most `timeout` ms; rejects at
 * once when Redis is known to be unreachable (between attempts, or given up).
 */
export function whenReady(redis: Redis, timeout: number): Promise<void> {
  const status = redis.status;
  if (status === "ready") return Promise.resolve();
  if (status !== "connecting" && status !== "connect") {
    return Promise.reject(new Error(`the connection is ${status}`));
  }
  // Every command made before the connection is up waits on one shared wait: a listener set
  // per command would pass Node's limit of 10 (MaxListenersExceededWarning) after a burst.
  let waiting = readiness.get(redis);
  if (!waiting) {
    waiting = waitForReady(redis, timeout).finally(() => readiness.delete(redis));
    readiness.set(redis, waiting);
  }
  return waiting;
}

/** The wait in progress for each connection that is not ready yet. */
const readiness = new WeakMap<Redis, Promise<void>>();

function waitForReady(redis: Redis, timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("close", onClose);
      redis.off("end", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onClose = () => done(new Error("the connection attempt failed"));
    const timer = setTimeout(() => done(new Error(`no connection after ${timeout} ms`)), timeout);
    redis.on("ready", onReady);
    redis.on("close", onClose);
    redis.on("end", onClose);
  });
}

/**
 * Listens to a connection's 'error' events (without a listener, ioredis writes each one to
 * stderr: one per reconnection attempt) and reports each outage once, at its first error or
 * close (Redis unreachable from the start counts), then the recovery; `recoveries` counts
 * the broker's.
 */
export function watchOutages(
  redis: Redis,
  role: Role,
  logger: BrokerLogger | undefined,
  isClosed: () => boolean,
  recoveries: RecoveryCount,
): void {
  let down = false;
  const lost = (error?: Error) => {
    if (down || isClosed()) return;
    down = true;
    recoveries.lost(role);
    logger?.warn(
      { connection: role, err: error },
      `Redis ${role} connection down; reconnecting (further errors of this outage not logged)`,
    );
  };
  redis.on("error", lost);
  redis.on("close", () => lost());
  redis.on("ready", () => {
    recoveries.ready(role);
    if (!down) return;
    down = false;
    logger?.info({ connection: role }, `Redis ${role} connection restored`);
  });
}
