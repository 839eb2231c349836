// Issue 22, "replay the latest N": app.subscribe(topic, { replay }) and
// socket.subscribe(topic, { replay }) give the latest N retained messages, then live ones,
// with nothing published in between lost or repeated; lastEventId wins over replay. On the
// memory broker and on a real Redis.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { WebSocket } from "ws";
import { App, type TopicSubscription } from "../src/index.js";
import { readyForHead } from "../src/sse/head-after-ready.js";
import { bothBrokers } from "./support/both-brokers.js";
import { RedisServer } from "./support/redis-server.js";
import { waitFor, within } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());
const brokers = bothBrokers(redis, "topic-replay");

/** The data of the next `count` events of a subscription. */
async function take(subscription: TopicSubscription, count: number): Promise<unknown[]> {
  const taken: unknown[] = [];
  while (taken.length < count) {
    const step = await within(subscription.next(), `event ${taken.length + 1} of ${count}`, 10_000);
    assert.equal(step.done, false, "the subscription ended early");
    taken.push(step.value?.data);
  }
  return taken;
}

for (const { name, make } of brokers) {
  describe(`replay the latest N on the ${name}`, () => {
    test("the latest N retained messages, then live ones", async () => {
      const app = new App({ logger: false, broker: make() });
      try {
        for (let n = 1; n <= 5; n++) await app.publish("room", n);
        const subscription = app.subscribe("room", { replay: 3 });
        await subscription[readyForHead]();
        await app.publish("room", 6);
        assert.deepEqual(await take(subscription, 4), [3, 4, 5, 6]);
        subscription.end();
        const all = app.subscribe("room", { replay: 100 });
        assert.deepEqual(await take(all, 6), [1, 2, 3, 4, 5, 6], "fewer retained than asked: all");
        all.end();
        const empty = app.subscribe("quiet", { replay: 5 });
        await empty[readyForHead]();
        await app.publish("quiet", "first");
        assert.deepEqual(await take(empty, 1), ["first"], "an empty topic: live ones only");
        empty.end();
      } finally {
        await app.close();
      }
    });

    test("lastEventId wins over replay", async () => {
      const app = new App({ logger: false, broker: make() });
      try {
        const ids: string[] = [];
        for (let n = 1; n <= 5; n++) ids.push(await app.publish("room", n));
        const subscription = app.subscribe("room", { replay: 1, lastEventId: ids[1] });
        assert.deepEqual(await take(subscription, 3), [3, 4, 5]);
        subscription.end();
      } finally {
        await app.close();
      }
    });

    test("under concurrent publishes: no gap and no repeat between the replay and live ones", async () => {
      const app = new App({ logger: false, broker: make() });
      try {
        for (let n = 0; n < 20; n++) await app.publish("race", n);
        // Publishes run while the subscription reads the head, the latest ten and goes live.
        const publishing = (async () => {
          for (let n = 20; n < 220; n++) await app.publish("race", n);
        })();
        const subscription = app.subscribe("race", { replay: 10 });
        await publishing;
        const received = (await (async () => {
          const got: number[] = [];
          while (got.at(-1) !== 219) got.push(...((await take(subscription, 1)) as number[]));
          return got;
        })()) as number[];
        const first = received[0] as number;
        assert.ok(first <= 19 + 200, `started at ${first}`);
        assert.deepEqual(
          received,
          Array.from({ length: 220 - first }, (_, index) => first + index),
          "every message from the first one received on, once, in order",
        );
        subscription.end();
      } finally {
        await app.close();
      }
    });

    test("socket.subscribe(topic, { replay }): the latest N envelopes, then live ones", async () => {
      const app = new App({ logger: false, broker: make() });
      app.websocket("/room", async (socket) => {
        await socket.subscribe("room", { replay: 2 });
        await socket.sendJson("live");
        await socket.closed;
      });
      try {
        for (let n = 1; n <= 4; n++) await app.publish("room", n);
        const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
        const ws = new WebSocket(`${url.replace("http", "ws")}/room`);
        const frames: unknown[] = [];
        ws.on("message", (data) => frames.push(JSON.parse(String(data))));
        await waitFor(() => frames.includes("live"), "the socket's subscription", 10_000);
        await app.publish("room", 5);
        await waitFor(() => frames.length === 4, "the live message", 10_000);
        assert.deepEqual(
          frames.map((frame) =>
            typeof frame === "string" ? frame : (frame as { data: unknown }).data,
          ),
          [3, 4, "live", 5],
        );
        ws.close();
      } finally {
        await app.close();
      }
    });
  });
}

describe("replay: bad counts", () => {
  test("a replay that is no whole number from 1 to 10 000 is a TypeError saying what is accepted", async () => {
    const app = new App({ logger: false });
    try {
      for (const replay of [0, -1, 1.5, 10_001, Number.NaN, "3"]) {
        assert.throws(
          () => app.subscribe("room", { replay: replay as number }),
          /subscribe\(\) replay must be a whole number from 1 to 10000/,
          String(replay),
        );
      }
      assert.doesNotThrow(() => app.subscribe("room", { replay: 10_000 }).end());
    } finally {
      await app.close();
    }
  });
});
