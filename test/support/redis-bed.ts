// What each Redis broker test file sets up the same way: its own redis-server, an admin
// connection to look at keys, and brokers ("processes") that are all closed after the tests.
import { after, before } from "node:test";
import { Redis } from "ioredis";
import { type RedisBrokerOptions, redisBroker } from "../../src/redis/index.js";
import type { Broker } from "../../src/topics/broker.js";
import { RedisServer } from "./redis-server.js";

export interface RedisBed {
  /** The file's redis-server (set in its `before` hook). */
  readonly server: RedisServer;
  /** A plain client on it, to read keys, TTLs and memory straight from Redis. */
  readonly admin: Redis;
  /** A key prefix of its own for each test, so tests share no stream. */
  freshPrefix(): string;
  /** A broker on `on`'s Redis (the file's server by default), closed after the tests. */
  makeBroker(options?: RedisBrokerOptions & { on?: RedisServer }): Broker;
}

/** Registers the file's `before`/`after` hooks and returns what its tests use. */
export function useRedisBed(prefixStem: string): RedisBed {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  const brokers: Broker[] = [];
  let prefixCounter = 0;
  before(async () => {
    server = await RedisServer.start();
    admin = new Redis(server.port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
  });
  after(async () => {
    await Promise.allSettled(brokers.map((broker) => broker.close()));
    admin?.disconnect();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the Redis bed is used before its before hook ran");
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get admin() {
      return started(admin);
    },
    freshPrefix: () => `${prefixStem}${process.pid}-${++prefixCounter}:`,
    makeBroker(options = {}) {
      const { on = started(server), ...rest } = options;
      const broker = redisBroker({ url: on.url, ...rest });
      brokers.push(broker);
      return broker;
    },
  };
}
