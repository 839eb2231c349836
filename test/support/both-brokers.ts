// The two brokers a topic test runs on: the memory broker, and a real Redis (each broker made
// under a key prefix of its own, so tests sharing the server never see each other's topics).

import { type Broker, memoryBroker } from "../../src/index.js";
import { redisBroker } from "../../src/redis/index.js";
import type { RedisServer } from "./redis-server.js";

export interface NamedBroker {
  /** "memory broker" or "Redis broker", for test titles. */
  readonly name: string;
  /** A new broker of that kind. */
  make(): Broker;
}

/** Both brokers, the Redis one on `redis` with prefixes `${prefix}-1:`, `${prefix}-2:`... */
export function bothBrokers(redis: RedisServer, prefix: string): NamedBroker[] {
  let made = 0;
  return [
    { name: "memory broker", make: () => memoryBroker() },
    {
      name: "Redis broker",
      make: () => redisBroker({ url: redis.url, prefix: `${prefix}-${++made}:` }),
    },
  ];
}
