/*
 * The topics layer's subscribe positions (src/topics/subscribe-at.ts): from the head, or the
 * latest N then live, with publishes racing the subscribe: nothing lost, nothing repeated.
 * On the memory broker and on a real Redis.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type Broker, memoryBroker, type TopicMessage } from "../src/index.js";
import { redisBroker } from "../src/redis/index.js";
import { attachAtHead, attachLatest, headOf } from "../src/topics/subscribe-at.js";
import { Topics } from "../src/topics/topics.js";
import { createLogger } from "../src/util/logger.js";
import { RedisServer } from "./support/redis-server.js";
import { waitFor } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());

function collector(): { received: number[]; sink: { receive(m: TopicMessage): void } } {
  const received: number[] = [];
  return { received, sink: { receive: (message) => received.push(message.data as number) } };
}

/** Publishes 0..count-1 to the topic one after another, without waiting between them. */
async function publishRun(
  topics: Topics,
  topic: string,
  from: number,
  count: number,
): Promise<void> {
  for (let value = from; value < from + count; value++) await topics.publish(topic, value);
}

function brokerSuite(name: string, create: (history?: number) => Broker): void {
  describe(`subscribe positions on ${name}`, () => {
    test("headOf is the newest id, and an id to resume after on an empty topic", async () => {
      const topics = new Topics(create(), createLogger(false));
      try {
        const emptyHead = await headOf(topics.broker, "empty");
        assert.equal(typeof emptyHead, "string");
        const first = await topics.publish("empty", 1);
        const replay = await topics.broker.replay("empty", emptyHead);
        assert.equal(replay.kind, "messages");
        assert.deepEqual(replay.kind === "messages" && replay.messages.map((m) => m.id), [first]);
        const second = await topics.publish("empty", 2);
        assert.equal(await headOf(topics.broker, "empty"), second);
      } finally {
        await topics.close();
      }
    });

    test("attachAtHead with publishes racing it: every message after the position, once, in order", async () => {
      const topics = new Topics(create(), createLogger(false));
      try {
        await publishRun(topics, "race", 0, 5);
        const racing = publishRun(topics, "race", 5, 200);
        const { received, sink } = collector();
        const { position } = await attachAtHead(topics.hub, topics.broker, "race", sink);
        await racing;
        assert.ok(position);
        const expected = (await topics.history("race", { after: position, limit: 1000 })).map(
          (m) => m.data as number,
        );
        await waitFor(() => received.length >= expected.length, "the racing messages", 5000);
        assert.deepEqual(received, expected);
        assert.deepEqual(
          received,
          [...received].sort((a, b) => a - b),
        );
        assert.ok(received.at(-1) === 204, `the last message arrived: ${received.at(-1)}`);
      } finally {
        await topics.close();
      }
    });

    test("attachLatest gives the latest N then live ones, with publishes racing it", async () => {
      const topics = new Topics(create(), createLogger(false));
      try {
        await publishRun(topics, "latest", 0, 10);
        const racing = publishRun(topics, "latest", 10, 200);
        const { received, sink } = collector();
        const { position } = await attachLatest(topics.hub, topics.broker, "latest", 3, sink);
        await racing;
        assert.equal(position, null);
        await waitFor(() => received.at(-1) === 209, "the last racing message", 5000);
        // Contiguous from wherever the latest 3 were when it subscribed, up to the end.
        const start = received[0] as number;
        assert.ok(start >= 7, `the latest 3 at most, got first ${start}`);
        assert.deepEqual(
          received,
          Array.from({ length: 210 - start }, (_, i) => start + i),
        );
      } finally {
        await topics.close();
      }
    });

    test("attachLatest on an empty topic starts at the head", async () => {
      const topics = new Topics(create(), createLogger(false));
      try {
        const { received, sink } = collector();
        const { position } = await attachLatest(topics.hub, topics.broker, "none-yet", 5, sink);
        assert.equal(typeof position, "string");
        await topics.publish("none-yet", 1);
        await waitFor(() => received.length === 1, "the live message");
        assert.deepEqual(received, [1]);
      } finally {
        await topics.close();
      }
    });
  });
}

let prefixes = 0;
brokerSuite("the memory broker", (history) => memoryBroker({ history: history ?? 1000 }));
brokerSuite("Redis", () => redisBroker({ url: redis.url, prefix: `subscribe-at-${prefixes++}:` }));
