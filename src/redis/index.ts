/**
 * `sluice/redis`: the Broker on Redis, for apps that run as many processes or machines.
 * Importing `sluice` alone never loads ioredis; this entry point does (an optional peer
 * dependency: `npm install ioredis`).
 *
 * ```ts
 * import { redisBroker } from "sluice/redis";
 * const app = new App({ broker: redisBroker({ url: process.env.REDIS_URL, history: 10_000 }) });
 * ```
 */
import type { Broker } from "../topics/broker.js";
import { type RedisBrokerOptions, resolveOptions } from "./options.js";
import { RedisBroker } from "./redis-broker.js";

export { BrokerUnavailableError } from "./errors.js";
export type { BrokerLogger, RedisBrokerOptions } from "./options.js";
export type { RedisClientOptions } from "./redis-client-options.js";

/**
 * A Broker on Redis (6.2 or newer; tested on 7): a stream per topic keeps its last `history`
 * messages (at least; trimming is approximate) and pub/sub delivers them live to every
 * process. It connects at once and reconnects by itself; while Redis is unreachable, publish
 * and the reads reject with a BrokerUnavailableError, and subscribers catch up from the log
 * when it is back. Options are checked here (TypeError).
 */
export function redisBroker(options?: RedisBrokerOptions): Broker {
  return new RedisBroker(resolveOptions(options));
}
