// Two App instances that share their topics, as two server processes do: on the memory
// broker, two Apps on one broker (one process); on Redis, two brokers with one key prefix
// (two processes, each with its own connections). Used by the tests of what must work
// "on every instance" (live-only messages, except).
import { App, type Broker, memoryBroker } from "../../src/index.js";
import { redisBroker } from "../../src/redis/index.js";
import type { RedisServer } from "./redis-server.js";

export interface InstancePair {
  /** "memory broker" or "Redis broker (two instances)", for test titles. */
  readonly name: string;
  /** Two brokers sharing their topics (possibly the same one twice). */
  make(): [Broker, Broker];
}

/** Both kinds, the Redis ones under the prefix `${prefix}-1:`, `${prefix}-2:`... per pair. */
export function instancePairs(redis: RedisServer, prefix: string): InstancePair[] {
  let made = 0;
  return [
    {
      name: "memory broker",
      make: () => {
        const broker = memoryBroker();
        return [broker, broker];
      },
    },
    {
      name: "Redis broker (two instances)",
      make: () => {
        const shared = `${prefix}-${++made}:`;
        return [
          redisBroker({ url: redis.url, prefix: shared }),
          redisBroker({ url: redis.url, prefix: shared }),
        ];
      },
    },
  ];
}

/** Two quiet Apps on a pair's brokers; close them both with `closeAll`. */
export function twoApps(pair: InstancePair): [App, App] {
  const [first, second] = pair.make();
  return [new App({ logger: false, broker: first }), new App({ logger: false, broker: second })];
}

export async function closeAll(apps: readonly App[]): Promise<void> {
  await Promise.all(apps.map((app) => app.close()));
}
