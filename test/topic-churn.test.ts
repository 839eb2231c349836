/*
 * The memory broker's bounds on topics: a topic nobody subscribes to and nobody publishes to
 * is dropped after `topicTtl`, at most `maxTopics` are kept (the least recently used idle one
 * makes room), and a topic with a subscriber is never dropped. A client resuming from an id
 * of a dropped topic gets a reset.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WebSocket } from "ws";
import { App, memoryBroker } from "../src/index.js";
import type { StoredMessage } from "../src/topics/broker.js";
import { resumableTopicsApp } from "./support/apps.js";
import { SseClient } from "./support/sse-client.js";
import { sleep, waitFor } from "./support/wait.js";

const MB = 1024 * 1024;

describe("memoryBroker topic expiry", () => {
  test("100 000 short-lived topics are all dropped once idle, and heap and RSS come back near where they started", async () => {
    // A process of its own: gc() to measure, no other test's garbage, and a young generation
    // kept small (V8 grows it to 32 MB under this allocation rate and keeps it: not ours).
    const child = fileURLToPath(new URL("./fixtures/topic-churn.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--expose-gc", "--max-semi-space-size=1", "--import", "tsx", child, "100000", "1500"],
      { timeout: 60_000 },
    );
    const run = JSON.parse(stdout);
    const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
    const report = `heapUsed ${mb(run.start.heapUsed)} -> ${mb(run.peak.heapUsed)} -> ${mb(run.end.heapUsed)}, rss ${mb(run.start.rss)} -> ${mb(run.peak.rss)} -> ${mb(run.end.rss)}, ${run.topicsAtPeak} topics after ${Math.round(run.created)} ms`;
    assert.equal(run.topicsAtEnd, 0, `every topic is dropped (${report})`);
    assert.ok(
      run.peak.heapUsed - run.start.heapUsed > 20 * MB,
      `the topics took memory: ${report}`,
    );
    assert.ok(run.end.heapUsed - run.start.heapUsed < 3 * MB, `the heap came back: ${report}`);
    assert.ok(
      run.end.rss - run.start.rss < (run.peak.rss - run.start.rss) / 4,
      `RSS came back (within a quarter of its growth): ${report}`,
    );
    assert.ok(run.drained < run.created + 1500 * 2 + 1000, `dropped in time: ${report}`);
  });

  test("an idle topic is dropped after topicTtl, not before", async () => {
    const broker = memoryBroker({ topicTtl: 300 });
    const id = await broker.publish("t", undefined, "1");
    await sleep(150);
    assert.equal(broker.topicCount, 1, "kept within its TTL");
    assert.deepEqual(await broker.history("t", { limit: 10 }), [
      { topic: "t", id, event: undefined, json: "1" },
    ]);
    const gone = await waitFor(() => broker.topicCount === 0, "the idle topic to go", 2000);
    assert.ok(gone >= 100, `dropped ${gone} ms after the check at 150 ms, not before 300 ms`);
    assert.deepEqual(await broker.history("t", { limit: 10 }), []);
    await broker.close();
  });

  test("a publish starts the topic's TTL over", async () => {
    const broker = memoryBroker({ topicTtl: 300 });
    for (let i = 0; i < 6; i++) {
      await broker.publish("busy", undefined, String(i));
      await sleep(100);
    }
    assert.equal((await broker.history("busy", { limit: 10 })).length, 6, "600 ms, all kept");
    await broker.close();
  });

  test("the default topicTtl is 5 minutes", (t) => {
    t.mock.timers.enable({ apis: ["setInterval", "Date"] });
    const broker = memoryBroker();
    void broker.publish("t", undefined, "1");
    t.mock.timers.tick(5 * 60_000 - 1);
    assert.equal(broker.topicCount, 1, "kept for 5 minutes");
    t.mock.timers.tick(60_001); // the sweep runs at least once a minute
    assert.equal(broker.topicCount, 0, "dropped after 5 minutes");
    void broker.close();
  });

  test("a resume from an id of a dropped topic gets a reset (unknown), then live messages", async () => {
    const broker = memoryBroker({ topicTtl: 100 });
    const app = resumableTopicsApp(broker);
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const old = await app.publish("room", { text: "before" });
      await waitFor(() => broker.topicCount === 0, "the topic to be dropped", 2000);
      // Published to again: a new log, whose ids must not be taken for the old one's.
      const again = await app.publish("room", { text: "after the drop" });
      const client = new SseClient(`${url}/topics/room`, old);
      const [reset] = await client.waitForEvents(1);
      assert.equal(reset?.event, "reset");
      assert.equal(reset?.id, again, "the reset carries the new log's head");
      assert.deepEqual(JSON.parse(reset?.data ?? ""), { reason: "unknown", lastEventId: old });
      await sleep(50);
      const live = await app.publish("room", { text: "live" });
      const events = await client.waitForEvents(2);
      assert.deepEqual([events[1]?.id, events[1]?.data], [live, '{"text":"live"}']);
      assert.equal(client.events.length, 2, "nothing from before the reset");
      client.close();
    } finally {
      await app.close();
    }
  });

  test("an id of a topic that was empty resumes without a reset while the topic lives", async () => {
    const broker = memoryBroker({ topicTtl: 60_000 });
    const empty = await broker.replay("quiet", "garbage");
    assert.equal(empty.kind, "reset");
    const head = empty.kind === "reset" ? empty.head : "";
    await broker.publish("quiet", undefined, "1");
    const replay = await broker.replay("quiet", head);
    assert.deepEqual(
      replay.kind === "messages" && replay.messages.map((m) => m.json),
      ["1"],
      "the head of the empty topic is one of its ids",
    );
    await broker.close();
  });

  test("sockets that joined rooms and left: the rooms' logs go once idle", async () => {
    const broker = memoryBroker({ topicTtl: 200 });
    const app = new App({ logger: false, broker });
    app.websocket("/rooms/:room", async (socket) => {
      const room = socket.request.params.room as string;
      await socket.subscribe(room);
      socket.sendJson({ joined: room });
      for await (const text of socket) await app.publish(room, { text: String(text) });
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const sockets = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const ws = new WebSocket(`${url.replace(/^http/, "ws")}/rooms/r${i}`);
          const received: unknown[] = [];
          ws.on("message", (data) => received.push(JSON.parse(String(data))));
          await waitFor(() => received.length === 1, "the join", 5000);
          ws.send(`hello r${i}`);
          await waitFor(() => received.length === 2, "the room's message", 5000);
          return ws;
        }),
      );
      assert.equal(broker.topicCount, 20);
      await sleep(400); // past the TTL: rooms with a socket in them stay
      assert.equal(broker.topicCount, 20, "rooms with subscribers are kept");
      for (const ws of sockets) ws.close();
      await waitFor(() => broker.topicCount === 0, "the rooms' logs to go", 3000);
    } finally {
      await app.close();
    }
  });
});

describe("memoryBroker maxTopics", () => {
  test("past maxTopics the least recently used idle topic makes room", async () => {
    const broker = memoryBroker({ maxTopics: 100 });
    const first: string[] = [];
    for (let i = 0; i < 100; i++) first.push(await broker.publish(`t${i}`, undefined, String(i)));
    await broker.publish("t0", undefined, "used again"); // t0 is now the most recently used
    for (let i = 100; i < 150; i++) await broker.publish(`t${i}`, undefined, String(i));
    assert.equal(broker.topicCount, 100);
    assert.equal((await broker.history("t0", { limit: 10 })).length, 2, "t0 was used lately");
    assert.deepEqual(await broker.history("t1", { limit: 10 }), [], "t1 was the oldest");
    assert.deepEqual(await broker.history("t50", { limit: 10 }), []);
    assert.equal((await broker.history("t51", { limit: 10 })).length, 1);
    const replay = await broker.replay("t1", first[1] as string);
    assert.equal(replay.kind === "reset" && replay.reason, "unknown", "an evicted topic's id");
    await broker.close();
  });

  test("the default maxTopics is 10 000", async () => {
    const broker = memoryBroker();
    for (let i = 0; i <= 10_000; i++) await broker.publish(`t${i}`, undefined, "1");
    assert.equal(broker.topicCount, 10_000);
    assert.deepEqual(await broker.history("t0", { limit: 1 }), [], "the oldest made room");
    await broker.close();
  });

  test("when every topic has a subscriber, a new one is kept past the cap until one is left", async () => {
    const broker = memoryBroker({ maxTopics: 2 });
    const stopA = await broker.subscribe("a", () => {});
    const stopB = await broker.subscribe("b", () => {});
    await broker.publish("a", undefined, "a");
    await broker.publish("b", undefined, "b");
    await broker.publish("c", undefined, "c");
    assert.equal(broker.topicCount, 3, "no topic with a subscriber is dropped for c");
    assert.equal((await broker.history("c", { limit: 1 })).length, 1, "c's message is kept");
    stopA();
    assert.equal(broker.topicCount, 2, "back under the cap: c, the older idle topic, goes");
    assert.deepEqual(await broker.history("c", { limit: 1 }), []);
    assert.equal((await broker.history("a", { limit: 1 })).length, 1);
    stopB();
    await broker.close();
  });
});

describe("memoryBroker: a topic with a subscriber is never dropped", () => {
  test("neither by expiry nor to make room, and it keeps delivering", async () => {
    const broker = memoryBroker({ topicTtl: 50, maxTopics: 10 });
    const delivered: StoredMessage[] = [];
    const stop = await broker.subscribe("watched", (message) => delivered.push(message));
    const first = await broker.publish("watched", undefined, "1");
    // A topic that had its log before its subscriber came.
    const early = await broker.publish("joined-later", undefined, "1");
    const stopLater = await broker.subscribe("joined-later", () => {});
    for (let i = 0; i < 100; i++) await broker.publish(`churn${i}`, undefined, "x");
    await sleep(300); // six TTLs
    assert.deepEqual(
      (await broker.history("watched", { limit: 10 })).map((m) => m.id),
      [first],
    );
    assert.deepEqual(
      (await broker.history("joined-later", { limit: 10 })).map((m) => m.id),
      [early],
    );
    const second = await broker.publish("watched", undefined, "2");
    const replay = await broker.replay("watched", first);
    assert.deepEqual(replay.kind === "messages" && replay.messages.map((m) => m.id), [second]);
    assert.deepEqual(
      delivered.map((m) => m.id),
      [first, second],
    );
    stop();
    stopLater();
    await waitFor(() => broker.topicCount === 0, "the topics to go once left", 2000);
    await broker.close();
  });
});

describe("memoryBroker options", () => {
  test("refuses a bad topicTtl or maxTopics", () => {
    for (const topicTtl of [0, -1, 1.5, "10", Number.NaN]) {
      assert.throws(
        () => memoryBroker({ topicTtl: topicTtl as number }),
        /topicTtl must be a positive whole number of milliseconds/,
      );
    }
    for (const maxTopics of [0, -1, 1.5, "10", Number.NaN]) {
      assert.throws(
        () => memoryBroker({ maxTopics: maxTopics as number }),
        /maxTopics must be a positive whole number/,
      );
    }
    memoryBroker({ topicTtl: Number.POSITIVE_INFINITY, maxTopics: Number.POSITIVE_INFINITY });
  });
});
