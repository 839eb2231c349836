/*
 * redisBroker against a real redis-server (started by the tests on a free loopback port),
 * over real sockets. Brokers made here stand for separate processes sharing one Redis.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  type BrokerLogger,
  BrokerUnavailableError,
  type RedisBrokerOptions,
  redisBroker,
} from "../src/redis/index.js";
import type { Broker, StoredMessage } from "../src/topics/broker.js";
import { useRedisBed } from "./support/redis-bed.js";
import { freePort, RedisServer } from "./support/redis-server.js";
import { waitFor } from "./support/wait.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const redis = useRedisBed("test");
const { freshPrefix, makeBroker } = redis;

interface LogLine {
  level: "info" | "warn";
  msg: string;
  details: Record<string, unknown>;
}

/** A BrokerLogger that keeps its lines, to assert on what the broker reported. */
function capturedLogger() {
  const lines: LogLine[] = [];
  const logger: BrokerLogger = {
    info: (details, msg) => lines.push({ level: "info", msg, details: { ...details } }),
    warn: (details, msg) => lines.push({ level: "warn", msg, details: { ...details } }),
  };
  return { logger, lines };
}

/** Subscribes and records what is delivered. */
async function record(broker: Broker, topic: string) {
  const received: StoredMessage[] = [];
  const stop = await broker.subscribe(topic, (message) => received.push(message));
  return { received, stop };
}

/** The ids of a stream, straight from Redis. */
async function streamIds(key: string): Promise<string[]> {
  return (await redis.admin.xrange(key, "-", "+")).map(([id]) => id);
}

function jsons(messages: readonly StoredMessage[]): string[] {
  return messages.map((message) => message.json);
}

function assertIncreasing(broker: Broker, ids: readonly string[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(
      broker.compareIds(ids[i - 1] as string, ids[i] as string) < 0,
      `${ids[i - 1]} < ${ids[i]}`,
    );
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

describe("redisBroker: the log", () => {
  test("a burst of publishes made before the first connection is up: all stored, one shared wait (no MaxListenersExceededWarning)", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const broker = makeBroker({ prefix: freshPrefix() });
      const ids = await Promise.all(
        Array.from({ length: 30 }, (_, i) => broker.publish("burst", undefined, String(i))),
      );
      assert.equal(new Set(ids).size, 30);
      assert.equal((await broker.history("burst", { limit: 100 })).length, 30);
      await sleep(10); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.filter((warning) => warning.name === "MaxListenersExceededWarning").map(String),
        [],
      );
    } finally {
      process.off("warning", onWarning);
    }
  });

  test("publish resolves the stream ids, increasing; history reads the messages back", async () => {
    const prefix = freshPrefix();
    const broker = makeBroker({ prefix });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(await broker.publish("news", i % 2 ? `kind${i}` : undefined, JSON.stringify({ i })));
    }
    for (const id of ids) assert.match(id, /^\d+-\d+$/);
    assertIncreasing(broker, ids);
    assert.deepEqual(await streamIds(`${prefix}topic:news`), ids, "the ids are the stream's");

    const newest = await broker.history("news", { limit: 3 });
    assert.deepEqual(newest, [
      { topic: "news", id: ids[7], event: "kind7", json: '{"i":7}' },
      { topic: "news", id: ids[8], event: undefined, json: '{"i":8}' },
      { topic: "news", id: ids[9], event: "kind9", json: '{"i":9}' },
    ]);
    const window = await broker.history("news", { after: ids[2] as string, limit: 4 });
    assert.deepEqual(
      window.map((message) => message.id),
      ids.slice(3, 7),
    );
    assert.deepEqual(await broker.history("news", { after: ids[9] as string, limit: 5 }), []);
    assert.deepEqual(
      (await broker.history("news", { limit: 100 })).map((message) => message.id),
      ids,
    );
    assert.deepEqual(await broker.history("news", { limit: 0 }), []);
    assert.deepEqual(await broker.history("nothing-here", { limit: 5 }), []);
    assert.deepEqual(await broker.history("news", { after: "not-an-id", limit: 5 }), []);
  });

  test("a small history trims the log, keeping at least that many; replay says what a late client missed", async () => {
    const prefix = freshPrefix();
    const broker = makeBroker({ prefix, history: 5 });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(await broker.publish("t", undefined, String(i)));
    const retained = await broker.history("t", { limit: 1000 });
    assert.ok(retained.length >= 5, `kept ${retained.length} (at least 5)`);
    assert.ok(retained.length < 200, `trimmed to ${retained.length} (approximately 5)`);
    assert.deepEqual(
      retained.map((message) => message.id),
      ids.slice(-retained.length),
      "what is kept is the newest",
    );

    const head = ids[199] as string;
    assert.deepEqual(await broker.replay("t", ids[0] as string), {
      kind: "reset",
      reason: "trimmed",
      head,
    });
    assert.deepEqual(await broker.replay("t", head), { kind: "messages", messages: [] });
    const fromThirdLast = await broker.replay("t", ids[197] as string);
    assert.deepEqual(fromThirdLast, { kind: "messages", messages: retained.slice(-2) });
    // At the edge: after the newest trimmed message nothing is missing; before it, it is.
    const newestTrimmed = 200 - retained.length - 1;
    assert.deepEqual(await broker.replay("t", ids[newestTrimmed] as string), {
      kind: "messages",
      messages: retained,
    });
    assert.deepEqual(await broker.replay("t", ids[newestTrimmed - 1] as string), {
      kind: "reset",
      reason: "trimmed",
      head,
    });
  });

  test("replay resets with reason unknown for a garbage id, an id from the future, a missing stream", async () => {
    const broker = makeBroker({ prefix: freshPrefix() });
    const first = await broker.publish("t", undefined, "1");
    const head = await broker.publish("t", undefined, "2");
    assert.deepEqual(await broker.replay("t", first), {
      kind: "messages",
      messages: [{ topic: "t", id: head, event: undefined, json: "2" }],
    });
    const [ms] = head.split("-");
    for (const lastId of [
      "garbage",
      "",
      "12",
      "1-2-3",
      "-1-0",
      "99999999999999999999-0",
      `${Number(ms) + 60_000}-0`,
      "18446744073709551615-18446744073709551615",
    ]) {
      assert.deepEqual(
        await broker.replay("t", lastId),
        { kind: "reset", reason: "unknown", head },
        `replay from ${JSON.stringify(lastId)}`,
      );
    }
    assert.deepEqual(await broker.replay("never-published", first), {
      kind: "reset",
      reason: "unknown",
      head: "0-0",
    });
  });

  test("compareIds orders by milliseconds, then sequence, exactly beyond 2^53", () => {
    const broker = makeBroker({ prefix: freshPrefix() });
    assert.ok(broker.compareIds("1-9", "1-10") < 0);
    assert.ok(broker.compareIds("2-0", "1-99") > 0);
    assert.ok(broker.compareIds("10-0", "9-0") > 0);
    assert.equal(broker.compareIds("5-5", "5-5"), 0);
    assert.equal(broker.compareIds("005-5", "5-5"), 0);
    assert.ok(broker.compareIds("1-18446744073709551615", "1-18446744073709551614") > 0);
    assert.ok(broker.compareIds("1-9007199254740993", "1-9007199254740992") > 0);
    assert.ok(broker.compareIds("junk", "0-0") < 0, "what is not an id comes first");
  });
});

describe("redisBroker: live delivery", () => {
  test("a subscriber in another process gets each message once, in order", async () => {
    const prefix = freshPrefix();
    const publisher = makeBroker({ prefix });
    const subscriber = makeBroker({ prefix });
    const { received } = await record(subscriber, "t");
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await publisher.publish("t", "tick", `{"n":${i}}`));
    await waitFor(() => received.length === 20, "20 deliveries", 3000);
    assert.deepEqual(
      received.map((message) => message.id),
      ids,
    );
    assert.deepEqual(received[3], { topic: "t", id: ids[3], event: "tick", json: '{"n":3}' });
    await sleep(50);
    assert.equal(received.length, 20, "nothing twice");
  });

  test("concurrent publishers in two processes: every subscriber sees the stream's order", async () => {
    const prefix = freshPrefix();
    const a = makeBroker({ prefix });
    const b = makeBroker({ prefix });
    const c = makeBroker({ prefix });
    const views = await Promise.all([
      record(a, "t"),
      record(b, "t"),
      record(c, "t"),
      record(c, "t"),
    ]);
    const published = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).publish("t", undefined, String(i))),
    );
    await waitFor(
      () => views.every((view) => view.received.length === 100),
      "100 deliveries each",
      3000,
    );
    const order = await streamIds(`${prefix}topic:t`);
    assert.equal(new Set(order).size, 100);
    assert.deepEqual(
      [...published].sort((x, y) => a.compareIds(x, y)),
      order,
    );
    assertIncreasing(a, order);
    for (const view of views) {
      assert.deepEqual(
        view.received.map((message) => message.id),
        order,
      );
    }
  });

  test("replay resolves only once live delivery here has reached what it returns (no repeat at the seam)", async () => {
    const prefix = freshPrefix();
    const publisher = makeBroker({ prefix });
    const subscriber = makeBroker({ prefix });
    const { received } = await record(subscriber, "t");
    const first = await publisher.publish("t", undefined, "0");
    let publishing = true;
    const published = (async () => {
      for (let i = 1; publishing; i++) await publisher.publish("t", undefined, String(i));
    })();
    try {
      for (let round = 0; round < 50; round++) {
        const replay = await subscriber.replay("t", first);
        assert.equal(replay.kind, "messages");
        const newest = replay.kind === "messages" ? replay.messages.at(-1) : undefined;
        if (!newest) continue;
        const delivered = received.at(-1);
        assert.ok(
          delivered && subscriber.compareIds(delivered.id, newest.id) >= 0,
          `round ${round}: replay returned ${newest.id}, live delivery was at ${delivered?.id}`,
        );
      }
    } finally {
      publishing = false;
      await published;
    }
  });

  test("stop ends delivery; the last stop unsubscribes; a deliverer that throws does not stop the others", async () => {
    const prefix = freshPrefix();
    const { logger, lines } = capturedLogger();
    const publisher = makeBroker({ prefix });
    const subscriber = makeBroker({ prefix, logger });
    const thrower = await subscriber.subscribe("t", () => {
      throw new Error("deliverer failed");
    });
    const first = await record(subscriber, "t");
    const second = await record(subscriber, "t");
    const fence = await record(subscriber, "fence");
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      await publisher.publish("t", undefined, "1");
      await waitFor(() => first.received.length === 1 && second.received.length === 1, "m1", 3000);
      first.stop();
      first.stop(); // twice is fine
      await publisher.publish("t", undefined, "2");
      await waitFor(() => second.received.length === 2, "m2 to the second deliverer", 3000);
      second.stop();
      thrower();
      // Published in this order on one connection, so delivered in this order on the other.
      await publisher.publish("t", undefined, "3");
      await publisher.publish("fence", undefined, "f");
      await waitFor(() => fence.received.length === 1, "the fence", 3000);
      assert.deepEqual(jsons(first.received), ["1"]);
      assert.deepEqual(jsons(second.received), ["1", "2"]);
      const channel = `${prefix}topic:t`;
      const started = performance.now();
      while (Number((await redis.admin.pubsub("NUMSUB", channel))[1]) !== 0) {
        assert.ok(performance.now() - started < 2000, "the channel is unsubscribed");
        await sleep(10);
      }
      await sleep(20);
      assert.deepEqual(uncaught, [], "the throw did not escape");
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    const warned = lines.filter((line) => line.msg.includes("A subscriber threw"));
    assert.equal(warned.length, 2, "each throw is logged");
    assert.equal((warned[0]?.details.err as Error | undefined)?.message, "deliverer failed");
  });
});

describe("redisBroker: options and closing", () => {
  test("bad options throw TypeErrors that say what is wrong", () => {
    const cases: [unknown, RegExp][] = [
      [{ history: 0 }, /history must be a positive whole number.*got 0/],
      [{ history: -3 }, /history must be a positive whole number/],
      [{ history: 1.5 }, /history must be a positive whole number/],
      [{ history: "10" }, /history must be a positive whole number/],
      [{ history: Number.NaN }, /history must be a positive whole number/],
      [{ prefix: 5 }, /"prefix" must be a string, got 5/],
      [{ url: "http://localhost:6379" }, /"url" must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ url: 6379 }, /"url" must be a redis:\/\/ or rediss:\/\/ URL, got 6379/],
      [{ redis: "localhost" }, /"redis" must be an object of ioredis options/],
      [{ logger: {} }, /"logger" must have info\(\) and warn\(\) methods/],
      [{ histroy: 10 }, /unknown option "histroy"/],
      ["redis://localhost", /options must be an object/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => redisBroker(options as RedisBrokerOptions),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
        `redisBroker(${JSON.stringify(options)})`,
      );
    }
  });

  test("after close(), publish, subscribe and the reads reject clearly", async () => {
    const broker = redisBroker({ url: redis.server.url, prefix: freshPrefix() });
    await broker.publish("t", undefined, "1");
    await broker.close();
    await broker.close(); // twice is fine
    const published = await rejection(broker.publish("t", undefined, "2"));
    assert.ok(published instanceof BrokerUnavailableError);
    assert.match(published.message, /broker is closed.*topic "t" was not published/);
    assert.ok((await rejection(broker.subscribe("t", () => {}))) instanceof BrokerUnavailableError);
    assert.ok(
      (await rejection(broker.history("t", { limit: 1 }))) instanceof BrokerUnavailableError,
    );
    assert.ok((await rejection(broker.replay("t", "0-0"))) instanceof BrokerUnavailableError);
  });

  test("a closed broker does not keep the process alive (nor does one that never reached Redis)", async () => {
    const script = `
      import { redisBroker } from "./src/redis/index.ts";
      const broker = redisBroker({ url: process.env.REDIS_URL, prefix: "exit-test:" });
      const stop = await broker.subscribe("t", () => {});
      await broker.publish("t", undefined, "1");
      stop();
      const unreachable = redisBroker({ url: process.env.DEAD_URL });
      await unreachable.publish("t", undefined, "1").catch(() => {});
      await Promise.all([broker.close(), unreachable.close()]);
      console.log("closed");
    `;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", script],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          REDIS_URL: redis.server.url,
          DEAD_URL: `redis://127.0.0.1:${await freePort()}`,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (data) => {
      output += data;
    });
    child.stderr.on("data", (data) => {
      output += data;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      await waitFor(() => output.includes("closed") || child.exitCode !== null, "close()", 10_000);
      const closedAt = performance.now();
      const [code] = child.exitCode === null ? await once(child, "exit") : [child.exitCode];
      const lingered = performance.now() - closedAt;
      assert.equal(code, 0, output);
      assert.match(output, /closed/);
      assert.ok(lingered < 1000, `exited ${Math.round(lingered)} ms after close()`);
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("redisBroker: outages", () => {
  test("the subscriber connection is cut: it reconnects by itself and delivers what it missed, once, in order", async () => {
    const prefix = freshPrefix();
    const { logger, lines } = capturedLogger();
    const publisher = makeBroker({ prefix });
    const subscriber = makeBroker({
      prefix,
      logger,
      // A name to find its connections by, and a pause before reconnecting, during which
      // messages are certainly published that pub/sub cannot deliver to it.
      redis: { connectionName: "victim", retryStrategy: () => 150 },
    });
    const { received } = await record(subscriber, "t");
    const other = await record(subscriber, "other");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publisher.publish("t", undefined, String(i)));
    await waitFor(() => received.length === 5, "the first 5", 3000);

    const clients = String(await redis.admin.client("LIST"));
    const victim = /id=(\d+) [^\n]*name=victim:subscriber /.exec(clients)?.[1];
    assert.ok(victim, `the subscriber connection in:\n${clients}`);
    assert.equal(await redis.admin.client("KILL", "ID", victim), 1);
    // Publishes go on while it is away, while it comes back and catches up, and after.
    const started = performance.now();
    for (let i = 5; performance.now() - started < 600; i++) {
      ids.push(await publisher.publish("t", undefined, String(i)));
      if (i % 10 === 0) await publisher.publish("other", undefined, String(i));
      await sleep(1);
    }
    await waitFor(() => received.length >= ids.length, `${ids.length} deliveries`, 5000);
    await sleep(50);
    assert.deepEqual(
      received.map((message) => message.id),
      ids,
      "every id once, in order",
    );
    assert.deepEqual(
      other.received.map((message) => message.json),
      (await subscriber.history("other", { limit: 1000 })).map((message) => message.json),
      "the other topic caught up too",
    );
    const lost = lines.filter((line) => line.msg.includes("subscriber connection down"));
    assert.equal(lost.length, 1, "the outage is logged once");
    assert.ok(lines.some((line) => line.msg.includes("subscriber connection restored")));
  });

  test("a message with except published while the subscriber connection is down keeps its except when caught up from the log", async () => {
    const prefix = freshPrefix();
    const publisher = makeBroker({ prefix });
    const subscriber = makeBroker({
      prefix,
      redis: { connectionName: "except-victim", retryStrategy: () => 150 },
    });
    const { received } = await record(subscriber, "room");
    await publisher.publish("room", undefined, '"before"', { except: "sender-1" });
    await waitFor(() => received.length === 1, "the live one");
    const clients = String(await redis.admin.client("LIST"));
    const victim = /id=(\d+) [^\n]*name=except-victim:subscriber /.exec(clients)?.[1];
    assert.ok(victim, `the subscriber connection in:\n${clients}`);
    assert.equal(await redis.admin.client("KILL", "ID", victim), 1);
    // Published while it is away: delivered from the stream once it is back.
    await publisher.publish("room", "chat", '"during"', { except: "sender-1" });
    await publisher.publish("room", undefined, '"for all"');
    await waitFor(() => received.length === 3, "the two published meanwhile", 5000);
    assert.deepEqual(
      received.map(({ json, event, except }) => ({ json, event, except })),
      [
        { json: '"before"', event: undefined, except: "sender-1" },
        { json: '"during"', event: "chat", except: "sender-1" },
        { json: '"for all"', event: undefined, except: undefined },
      ],
      "the except travels with the late delivery (the hub skips that client)",
    );
  });

  test("Redis restarts: publish rejects at once meanwhile; the brokers reconnect and delivery goes on", async () => {
    const outage = await RedisServer.start();
    try {
      const prefix = freshPrefix();
      const { logger, lines } = capturedLogger();
      const a = makeBroker({ on: outage, prefix, logger });
      const b = makeBroker({ on: outage, prefix });
      const { received } = await record(a, "t");
      const before = await b.publish("t", undefined, '"before"');
      await waitFor(() => received.length === 1, "the first message", 3000);

      await outage.stop();
      const started = performance.now();
      const failed = await rejection(a.publish("t", undefined, '"during"'));
      const took = performance.now() - started;
      assert.ok(failed instanceof BrokerUnavailableError, String(failed));
      assert.match(
        failed.message,
        /Redis is unavailable: the message to topic "t" was not published/,
      );
      assert.ok(failed.cause instanceof Error, "the cause is kept");
      assert.ok(took < 3000, `rejected after ${Math.round(took)} ms`);
      assert.ok((await rejection(a.history("t", { limit: 1 }))) instanceof BrokerUnavailableError);
      assert.ok((await rejection(a.subscribe("u", () => {}))) instanceof BrokerUnavailableError);
      // A broker made during the outage fails as fast, and works once Redis is back.
      const late = makeBroker({ on: outage, prefix });
      assert.ok(
        (await rejection(late.publish("t", undefined, '"late"'))) instanceof BrokerUnavailableError,
      );
      await sleep(300); // several reconnection attempts fail meanwhile

      await outage.start(); // same port, no data kept
      const after: string[] = [];
      const back = performance.now();
      while (after.length === 0) {
        try {
          after.push(await b.publish("t", undefined, '"after-0"'));
        } catch (error) {
          assert.ok(error instanceof BrokerUnavailableError, String(error));
          assert.ok(performance.now() - back < 5000, "b reconnects within 5 s");
          await sleep(50);
        }
      }
      for (let i = 1; i < 5; i++) after.push(await b.publish("t", undefined, `"after-${i}"`));
      await waitFor(() => received.length === 6, "the messages published after the restart", 3000);
      assert.deepEqual(
        received.map((message) => message.id),
        [before, ...after],
      );
      await eventuallyPublishes(a, '"a"');
      await eventuallyPublishes(late, '"late"');
      await waitFor(() => received.length === 8, "a's and late's own messages", 3000);
      assert.deepEqual(jsons(received.slice(6)).sort(), ['"a"', '"late"']);

      const lost = lines.filter((line) => line.msg.includes("commands connection down"));
      assert.equal(lost.length, 1, "the outage is logged once, however many attempts failed");
    } finally {
      await outage.stop();
    }
  });
});

/** Publishes from `broker` once its command connection is back (within 5 s). */
async function eventuallyPublishes(broker: Broker, json: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    try {
      await broker.publish("t", undefined, json);
      return;
    } catch (error) {
      assert.ok(error instanceof BrokerUnavailableError, String(error));
      assert.ok(performance.now() - started < 5000, "reconnected within 5 s");
      await sleep(50);
    }
  }
}
