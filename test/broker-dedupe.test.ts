/*
 * Exactly-once publishing: a publish with a dedupeKey already used on its topic within the
 * broker's dedupe window stores and delivers nothing and resolves the first one's id, on the
 * memory broker and on Redis (a real redis-server) alike, through app.publish.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, type Broker, memoryBroker } from "../src/index.js";
import { MAX_DEDUPE_KEY_LENGTH } from "../src/topics/dedupe-key.js";
import { useRedisBed } from "./support/redis-bed.js";
import { sleep, waitFor } from "./support/wait.js";

const redis = useRedisBed("dedupe");

interface Flavour {
  readonly name: string;
  /** A broker of its own (a fresh prefix on Redis), with the given dedupe window. */
  broker(options?: { dedupeWindow?: number }): Broker;
}

const FLAVOURS: readonly Flavour[] = [
  { name: "memoryBroker", broker: (options) => memoryBroker(options) },
  {
    name: "redisBroker",
    broker: (options) => redis.makeBroker({ prefix: redis.freshPrefix(), ...options }),
  },
];

function appOn(broker: Broker): App {
  return new App({ logger: false, broker });
}

/**
 * Records what the broker delivers live on the topic. `settled()` publishes a marker and
 * waits for it: delivery keeps a topic's order, so whatever the publishes before it were to
 * deliver has come by then.
 */
async function recordDeliveries(broker: Broker, topic: string) {
  const received: string[] = [];
  const stop = await broker.subscribe(topic, (message) => received.push(message.json));
  return {
    received,
    async settled(): Promise<string[]> {
      await broker.publish(topic, undefined, '"marker"');
      await waitFor(() => received.includes('"marker"'), `the marker on "${topic}"`);
      stop();
      return received.filter((json) => json !== '"marker"');
    },
  };
}

async function storedData(app: App, topic: string): Promise<unknown[]> {
  return (await app.history(topic, { limit: 1000 })).map((message) => message.data);
}

for (const flavour of FLAVOURS) {
  describe(`${flavour.name}: dedupeKey`, () => {
    test("a repeat within the window resolves the first id, is stored once and delivered once", async () => {
      const broker = flavour.broker();
      const app = appOn(broker);
      const deliveries = await recordDeliveries(broker, "orders");
      const first = await app.publish("orders", { n: 1 }, { dedupeKey: "k-1" });
      // The key is the message's identity: a repeat with other data is still the first one.
      const again = await app.publish("orders", { n: 1 }, { dedupeKey: "k-1" });
      const changed = await app.publish("orders", { n: 2 }, { dedupeKey: "k-1" });
      assert.equal(again, first);
      assert.equal(changed, first);
      assert.deepEqual(await deliveries.settled(), ['{"n":1}']);
      assert.deepEqual(await storedData(app, "orders"), [{ n: 1 }, "marker"]);
    });

    test("after the window, a repeat is stored anew", async () => {
      const broker = flavour.broker({ dedupeWindow: 200 });
      const app = appOn(broker);
      const first = await app.publish("t", 1, { dedupeKey: "k" });
      await sleep(50);
      assert.equal(await app.publish("t", 1, { dedupeKey: "k" }), first, "within the window");
      await sleep(300);
      const later = await app.publish("t", 1, { dedupeKey: "k" });
      assert.notEqual(later, first);
      assert.ok(broker.compareIds(first, later) < 0);
      // And remembered again from then on.
      assert.equal(await app.publish("t", 1, { dedupeKey: "k" }), later);
      assert.deepEqual(await storedData(app, "t"), [1, 1]);
    });

    test("two different keys are two messages; publishes without a key are all stored", async () => {
      const app = appOn(flavour.broker());
      const a = await app.publish("t", "a", { dedupeKey: "a" });
      const b = await app.publish("t", "b", { dedupeKey: "b" });
      const c = await app.publish("t", "c");
      const d = await app.publish("t", "c");
      assert.equal(new Set([a, b, c, d]).size, 4);
      assert.deepEqual(await storedData(app, "t"), ["a", "b", "c", "c"]);
    });

    test("the same key on two topics is stored on each (topics that could be confused too)", async () => {
      const app = appOn(flavour.broker());
      // With a naive "topic:key" join, ("a:b", "c") and ("a", "b:c") would be one key.
      const one = await app.publish("a:b", 1, { dedupeKey: "c" });
      const two = await app.publish("a", 2, { dedupeKey: "b:c" });
      const three = await app.publish("other", 3, { dedupeKey: "c" });
      assert.deepEqual(await storedData(app, "a:b"), [1]);
      assert.deepEqual(await storedData(app, "a"), [2]);
      assert.deepEqual(await storedData(app, "other"), [3]);
      assert.equal(await app.publish("a:b", 1, { dedupeKey: "c" }), one);
      assert.equal(await app.publish("a", 2, { dedupeKey: "b:c" }), two);
      assert.equal(await app.publish("other", 3, { dedupeKey: "c" }), three);
    });

    test("concurrent publishes with one key store once", async () => {
      const app = appOn(flavour.broker());
      await app.publish("warm-up", 0); // connected: more than 10 waiting for it warn in ioredis
      const ids = await Promise.all(
        Array.from({ length: 10 }, () => app.publish("t", "x", { dedupeKey: "same" })),
      );
      assert.equal(new Set(ids).size, 1);
      assert.deepEqual(await storedData(app, "t"), ["x"]);
    });

    test("bad dedupe keys are refused by app.publish with a TypeError that says what a key is; nothing is stored", async () => {
      const app = appOn(flavour.broker());
      const longest = "k".repeat(MAX_DEDUPE_KEY_LENGTH);
      for (const dedupeKey of ["", `${longest}k`, 42, null, {}, ["k"]]) {
        await assert.rejects(
          app.publish("t", 1, { dedupeKey: dedupeKey as string }),
          (error: Error) =>
            error instanceof TypeError &&
            /^publish\(\) dedupeKey must be a non-empty string of at most 200 characters, got /.test(
              error.message,
            ),
          `dedupeKey ${JSON.stringify(dedupeKey)}`,
        );
      }
      await assert.rejects(app.publish("t", 1, { dedupeKey: `${longest}k` }), /\(201 characters\)/);
      // Called directly, the broker checks the key too.
      await assert.rejects(
        flavour.broker().publish("t", undefined, "1", { dedupeKey: "" }),
        /^TypeError: publish: the dedupeKey must be a non-empty string/,
      );
      assert.deepEqual(await storedData(app, "t"), []);
      const id = await app.publish("t", 1, { dedupeKey: longest });
      assert.equal(await app.publish("t", 1, { dedupeKey: longest }), id);
    });
  });
}

describe("memoryBroker: the dedupe keys' bounds", () => {
  test("past maxDedupeKeys, the oldest keys are forgotten first", async () => {
    const app = appOn(memoryBroker({ maxDedupeKeys: 3 }));
    const ids = new Map<string, string>();
    for (const key of ["k1", "k2", "k3", "k4"]) {
      ids.set(key, await app.publish("t", key, { dedupeKey: key }));
    }
    // k1 went to make room for k4; k2..k4 are remembered.
    for (const key of ["k4", "k3", "k2"]) {
      assert.equal(await app.publish("t", key, { dedupeKey: key }), ids.get(key), key);
    }
    const k1 = await app.publish("t", "k1", { dedupeKey: "k1" });
    assert.notEqual(k1, ids.get("k1"), "k1 is stored anew");
    assert.deepEqual(await storedData(app, "t"), ["k1", "k2", "k3", "k4", "k1"]);
  });

  test("bad dedupeWindow and maxDedupeKeys options throw TypeErrors naming them", () => {
    for (const dedupeWindow of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1000"]) {
      assert.throws(
        () => memoryBroker({ dedupeWindow: dedupeWindow as number }),
        (error: Error) =>
          error instanceof TypeError &&
          error.message ===
            `memoryBroker dedupeWindow must be a positive whole number of milliseconds, got ${String(dedupeWindow)}`,
        `dedupeWindow ${String(dedupeWindow)}`,
      );
    }
    for (const maxDedupeKeys of [0, -1, 2.5, Number.POSITIVE_INFINITY, "10"]) {
      assert.throws(
        () => memoryBroker({ maxDedupeKeys: maxDedupeKeys as number }),
        (error: Error) =>
          error instanceof TypeError &&
          error.message ===
            `memoryBroker maxDedupeKeys must be a positive whole number, got ${String(maxDedupeKeys)}`,
        `maxDedupeKeys ${String(maxDedupeKeys)}`,
      );
    }
  });
});

describe("redisBroker: the dedupe keys in Redis", () => {
  test("one key per (topic, dedupeKey) under the prefix, holding the id, gone after the window", async () => {
    const prefix = redis.freshPrefix();
    const app = appOn(redis.makeBroker({ prefix, dedupeWindow: 300 }));
    const id = await app.publish("chat:lobby", "hi", { dedupeKey: "m1" });
    const key = `${prefix}dedupe:10:chat:lobby:m1`;
    assert.equal(await redis.admin.get(key), id);
    const ttl = await redis.admin.pttl(key);
    assert.ok(ttl > 0 && ttl <= 300, `PTTL ${ttl}`);
    await sleep(400);
    assert.equal(await redis.admin.exists(key), 0, "expired with the window");
  });

  test("two Apps on one Redis publishing the same keys at once store each message once", async () => {
    const prefix = redis.freshPrefix();
    const a = appOn(redis.makeBroker({ prefix }));
    const b = appOn(redis.makeBroker({ prefix }));
    // Connected first: more than 10 publishes waiting for a connection warn in ioredis.
    await Promise.all([a.publish("warm-up", 0), b.publish("warm-up", 0)]);
    const keys = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const pairs = await Promise.all(
      keys.map((dedupeKey, i) =>
        Promise.all([a.publish("room", i, { dedupeKey }), b.publish("room", i, { dedupeKey })]),
      ),
    );
    for (const [fromA, fromB] of pairs) assert.equal(fromA, fromB);
    assert.equal(new Set(pairs.map(([id]) => id)).size, keys.length);
    assert.equal(await redis.admin.xlen(`${prefix}topic:room`), keys.length);
    const stored = (await storedData(a, "room")) as number[];
    assert.deepEqual(
      [...stored].sort((x, y) => x - y),
      keys.map((_, i) => i),
    );
  });

  test("bad dedupeWindow options throw TypeErrors naming it", () => {
    for (const dedupeWindow of [0, -5, 0.5, Number.POSITIVE_INFINITY, "60000"]) {
      assert.throws(
        () => redis.makeBroker({ dedupeWindow: dedupeWindow as number }),
        (error: Error) =>
          error instanceof TypeError &&
          error.message ===
            `redisBroker dedupeWindow must be a positive whole number of milliseconds, got ${String(dedupeWindow)}`,
        `dedupeWindow ${String(dedupeWindow)}`,
      );
    }
  });
});
