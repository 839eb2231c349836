/*
 * The Redis broker's bound on topics: each stream gets a TTL (`topicTtl`), set again by every
 * publish (in the publish script) and kept up while any process subscribes to the topic, so
 * an abandoned topic's stream goes by itself. Against a real redis-server on a free port.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redisBroker } from "../src/redis/index.js";
import { resumableTopicsApp } from "./support/apps.js";
import { useRedisBed } from "./support/redis-bed.js";
import { SseClient } from "./support/sse-client.js";
import { eventually, sleep } from "./support/wait.js";

const redis = useRedisBed("churn");
const { freshPrefix, makeBroker } = redis;

async function usedMemory(): Promise<number> {
  const info = await redis.admin.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

describe("redisBroker topicTtl", () => {
  test("every publish sets the stream's TTL to topicTtl, 24 hours by default", async () => {
    const prefix = freshPrefix();
    await makeBroker({ prefix, topicTtl: 60_000 }).publish("t", undefined, "1");
    const ttl = await redis.admin.pttl(`${prefix}topic:t`);
    assert.ok(ttl > 59_000 && ttl <= 60_000, `PTTL ${ttl}`);

    const byDefault = freshPrefix();
    await makeBroker({ prefix: byDefault }).publish("t", undefined, "1");
    const day = 24 * 60 * 60_000;
    const defaultTtl = await redis.admin.pttl(`${byDefault}topic:t`);
    assert.ok(defaultTtl > day - 1000 && defaultTtl <= day, `PTTL ${defaultTtl}`);
  });

  test("Infinity keeps streams for good, even one that had a TTL", async () => {
    const prefix = freshPrefix();
    await makeBroker({ prefix, topicTtl: 60_000 }).publish("t", undefined, "1");
    await makeBroker({ prefix, topicTtl: Number.POSITIVE_INFINITY }).publish("t", undefined, "2");
    assert.equal(await redis.admin.pttl(`${prefix}topic:t`), -1, "no TTL");
  });

  test("an idle topic's stream expires; a resume from one of its ids gets a reset (unknown)", async () => {
    const prefix = freshPrefix();
    const broker = makeBroker({ prefix, topicTtl: 200 });
    const old = await broker.publish("room", undefined, '"before"');
    await sleep(100);
    assert.equal(await redis.admin.exists(`${prefix}topic:room`), 1, "kept within its TTL");
    await eventually(
      async () => (await redis.admin.exists(`${prefix}topic:room`)) === 0,
      "the expiry",
      3000,
    );
    assert.deepEqual(await broker.replay("room", old), {
      kind: "reset",
      reason: "unknown",
      head: "0-0",
    });
    // Published to again: a new stream, whose ids must not pass for the old one's.
    const again = await broker.publish("room", undefined, '"after"');
    assert.deepEqual(await broker.replay("room", old), {
      kind: "reset",
      reason: "unknown",
      head: again,
    });
  });

  test("through an App: an SSE client resuming after its topic expired gets a reset, then live messages", async () => {
    const broker = makeBroker({ prefix: freshPrefix(), topicTtl: 200 });
    const app = resumableTopicsApp(broker);
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const old = await app.publish("room", { text: "before" });
      await sleep(600); // three TTLs
      const client = new SseClient(`${url}/topics/room`, old);
      const [reset] = await client.waitForEvents(1);
      assert.equal(reset?.event, "reset");
      assert.deepEqual(JSON.parse(reset?.data ?? ""), { reason: "unknown", lastEventId: old });
      await sleep(100);
      const live = await app.publish("room", { text: "live" });
      const events = await client.waitForEvents(2);
      assert.deepEqual([events[1]?.id, events[1]?.data], [live, '{"text":"live"}']);
      client.close();
    } finally {
      await app.close();
    }
  });

  test("a stream does not expire while any process subscribes to its topic, and does once they leave", async () => {
    const prefix = freshPrefix();
    const key = `${prefix}topic:watched`;
    const publisher = makeBroker({ prefix, topicTtl: 300 });
    const watcher = makeBroker({ prefix, topicTtl: 300 });
    const first = await publisher.publish("watched", undefined, "1");
    const stop = await watcher.subscribe("watched", () => {});
    await sleep(1200); // four TTLs, nobody publishing
    assert.equal(await redis.admin.exists(key), 1, "the stream is still there");
    assert.deepEqual(
      (await publisher.history("watched", { limit: 10 })).map((m) => m.id),
      [first],
    );
    const second = await publisher.publish("watched", undefined, "2");
    assert.deepEqual(await publisher.replay("watched", first), {
      kind: "messages",
      messages: [{ topic: "watched", id: second, event: undefined, json: "2" }],
    });
    stop();
    await eventually(
      async () => (await redis.admin.exists(key)) === 0,
      "the expiry once left",
      3000,
    );
  });

  test("the first subscriber and the last to leave set the full TTL again", async () => {
    const prefix = freshPrefix();
    const key = `${prefix}topic:t`;
    const broker = makeBroker({ prefix, topicTtl: 60_000 });
    await broker.publish("t", undefined, "1");
    const fresh = async () => (await redis.admin.pttl(key)) > 59_700;
    await sleep(500);
    assert.equal(await fresh(), false, "the TTL runs down");
    const stop = await broker.subscribe("t", () => {});
    await eventually(fresh, "the TTL set again on subscribing", 1000);
    await sleep(500);
    assert.equal(await fresh(), false, "the TTL runs down between refreshes");
    stop();
    await eventually(fresh, "the TTL set again on leaving", 1000);
  });

  // 20 000, not the memory broker's 100 000: each costs a round trip to Redis (about 50 µs
  // here), and what is measured, Redis's memory, comes back the same way at any count.
  test("20 000 short-lived topics: every stream expires and Redis's memory comes back", async () => {
    const prefix = freshPrefix();
    const broker = makeBroker({ prefix, topicTtl: 1000 });
    await redis.admin.flushdb(); // other tests' streams (one never expires): DBSIZE counts ours only
    await broker.publish("warm-up", undefined, "1"); // connected before the crowd comes
    const start = await usedMemory();
    const began = performance.now();
    const json = JSON.stringify({ text: "a chat message ".repeat(8) });
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 1000 }, async (_, i) => {
          const topic = `room:${batch * 1000 + i}`;
          if (i % 10 !== 0) return broker.publish(topic, "chat", json);
          const stop = await broker.subscribe(topic, () => {});
          await broker.publish(topic, undefined, json);
          stop();
        }),
      );
    }
    const created = performance.now() - began;
    const peak = await usedMemory();
    const keysAtPeak = await redis.admin.dbsize();
    assert.ok(keysAtPeak > 0, "streams were made");
    assert.ok(peak - start > 5 * 1024 * 1024, `they took memory: ${start} -> ${peak} bytes`);
    const gone = await eventually(
      async () => (await redis.admin.dbsize()) === 0,
      "every expiry",
      15_000,
    );
    const end = await usedMemory();
    assert.ok(
      end - start < (peak - start) / 10,
      `used_memory ${start} -> ${peak} -> ${end} bytes (${keysAtPeak} keys after ${Math.round(created)} ms, all gone ${Math.round(gone)} ms later)`,
    );
  });

  test("refuses a bad topicTtl", () => {
    for (const topicTtl of [0, -1, 1.5, "10", Number.NaN]) {
      assert.throws(
        () => redisBroker({ url: redis.server.url, topicTtl: topicTtl as number }),
        /redisBroker topicTtl must be a positive whole number of milliseconds/,
      );
    }
  });
});
