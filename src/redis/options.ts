import { checkDedupeWindow, DEFAULT_DEDUPE_WINDOW } from "../topics/dedupe-window-option.js";
import { checkHistory } from "../topics/history-option.js";
import { checkTopicTtl } from "../topics/topic-ttl-option.js";
import type { RedisClientOptions } from "./redis-client-options.js";

/** Where the broker reports connection trouble: a pino logger fits, as does anything alike. */
export interface BrokerLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface RedisBrokerOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). Default: localhost:6379. */
  url?: string | undefined;
  /**
   * ioredis options (host, port, password, tls, db, connectTimeout, commandTimeout,
   * retryStrategy, connectionName…), for both connections. The broker sets those its
   * guarantees rest on: no offline queue, no retried or resent commands, its own
   * resubscription.
   */
  redis?: RedisClientOptions | undefined;
  /** Messages kept per topic (trimmed approximately, never below this). Default 1000. */
  history?: number | undefined;
  /**
   * Milliseconds a topic's stream outlives its last publish, or its last subscriber in any
   * process (PEXPIRE on publish, in the publish script; processes with subscribers refresh
   * it): then Redis deletes it, and a client resuming from one of its ids gets a reset
   * (reason "unknown"). Default 24 hours; `Infinity` for streams that never expire.
   */
  topicTtl?: number | undefined;
  /**
   * Milliseconds a publish's `dedupeKey` is remembered: a publish to the same topic with the
   * same key within it, from any process, stores and delivers nothing and resolves the first
   * one's id. Each key is a Redis string holding that id, set with this PX by the publish
   * script (so it goes by itself). Default 2 minutes.
   */
  dedupeWindow?: number | undefined;
  /**
   * Prefix of the stream keys and pub/sub channels, `${prefix}topic:${topic}`, of the
   * dedupe keys, `${prefix}dedupe:${topic.length}:${topic}:${dedupeKey}`, and of the presence
   * keys, `${prefix}presence:${topic}` and `${prefix}presence-expiry:${topic}`. Default
   * "sluice:".
   */
  prefix?: string | undefined;
  /**
   * Milliseconds between two refreshes of this process's presence members (`app.presence()`):
   * each member's expiry is set to two intervals ahead, and the expired members of the topics
   * this process has members in or follows are swept (their `leave` published) at each one.
   * So the members of a process that died without leaving (SIGKILL, a lost machine) are no
   * longer listed two intervals after its last refresh, and their `leave` goes out between one
   * and three intervals after it died. Default 15 000 (a dead process's members gone within
   * 45 s); at least 10.
   */
  presenceRefresh?: number | undefined;
  /** Reports outages (once each), recoveries and gaps. Default: silent. */
  logger?: BrokerLogger | undefined;
}

export interface ResolvedOptions {
  readonly url: string | undefined;
  readonly redis: RedisClientOptions;
  readonly history: number;
  readonly topicTtl: number;
  readonly dedupeWindow: number;
  readonly prefix: string;
  readonly presenceRefresh: number;
  readonly logger: BrokerLogger | undefined;
}

const KNOWN = new Set([
  "url",
  "redis",
  "history",
  "topicTtl",
  "dedupeWindow",
  "prefix",
  "presenceRefresh",
  "logger",
]);

/** The presence refresh when none is given: a dead process's members are gone within 45 s. */
export const DEFAULT_PRESENCE_REFRESH = 15_000;
/** The longest interval: four of them (the keys' TTL) must fit a timer. */
const MAX_PRESENCE_REFRESH = Math.floor((2 ** 31 - 1) / 4);

/** Abandoned topics' streams go within a day; quiet rooms keep their history overnight. */
export const DEFAULT_REDIS_TOPIC_TTL = 24 * 60 * 60_000;

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/** Checks the options of redisBroker(), throwing a TypeError that says what is wrong. */
export function resolveOptions(options: RedisBrokerOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(
      `redisBroker(options): options must be an object, got ${describe(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(
        `redisBroker(options): unknown option "${key}" (known: ${[...KNOWN].join(", ")})`,
      );
    }
  }
  const {
    url,
    redis,
    history = 1000,
    topicTtl = DEFAULT_REDIS_TOPIC_TTL,
    dedupeWindow = DEFAULT_DEDUPE_WINDOW,
    prefix = "sluice:",
    presenceRefresh = DEFAULT_PRESENCE_REFRESH,
    logger,
  } = options;
  if (url !== undefined) {
    if (typeof url !== "string" || !isRedisUrl(url)) {
      throw new TypeError(
        `redisBroker(options): "url" must be a redis:// or rediss:// URL, got ${describe(url)}`,
      );
    }
  }
  if (
    redis !== undefined &&
    (typeof redis !== "object" || redis === null || Array.isArray(redis))
  ) {
    throw new TypeError(
      `redisBroker(options): "redis" must be an object of ioredis options, got ${describe(redis)}`,
    );
  }
  checkHistory(history, "redisBroker");
  checkTopicTtl(topicTtl, "redisBroker");
  checkDedupeWindow(dedupeWindow, "redisBroker");
  if (
    typeof presenceRefresh !== "number" ||
    !Number.isSafeInteger(presenceRefresh) ||
    presenceRefresh < 10 ||
    presenceRefresh > MAX_PRESENCE_REFRESH
  ) {
    throw new TypeError(
      `redisBroker(options): "presenceRefresh" must be a whole number of ms from 10 to ${MAX_PRESENCE_REFRESH}, got ${describe(presenceRefresh)}`,
    );
  }
  if (typeof prefix !== "string") {
    throw new TypeError(`redisBroker(options): "prefix" must be a string, got ${describe(prefix)}`);
  }
  if (
    logger !== undefined &&
    (typeof logger !== "object" ||
      logger === null ||
      typeof logger.warn !== "function" ||
      typeof logger.info !== "function")
  ) {
    throw new TypeError(
      `redisBroker(options): "logger" must have info() and warn() methods (a pino logger does), got ${describe(logger)}`,
    );
  }
  return {
    url,
    redis: redis ?? {},
    history,
    topicTtl,
    dedupeWindow,
    prefix,
    presenceRefresh,
    logger,
  };
}

function isRedisUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === "redis:" || protocol === "rediss:";
  } catch {
    return false;
  }
}
