/*
 * head(topic): the id of the topic's newest message, or its log's starting point, such that a
 * replay from it later gives exactly what was published after it, on the memory broker and on
 * Redis (a real redis-server) alike.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Broker, memoryBroker } from "../src/index.js";
import type { Replay, StoredMessage } from "../src/topics/broker.js";
import { useRedisBed } from "./support/redis-bed.js";

const redis = useRedisBed("head");

const FLAVOURS: readonly { name: string; broker(): Broker }[] = [
  { name: "memoryBroker", broker: () => memoryBroker() },
  { name: "redisBroker", broker: () => redis.makeBroker({ prefix: redis.freshPrefix() }) },
];

function headOf(broker: Broker, topic: string): Promise<string> {
  assert.ok(broker.head, "the broker has head()");
  return broker.head(topic);
}

function replayed(replay: Replay): string[] {
  assert.equal(replay.kind, "messages", `a replay, not ${JSON.stringify(replay)}`);
  return replay.kind === "messages" ? replay.messages.map((message) => message.json) : [];
}

for (const flavour of FLAVOURS) {
  describe(`${flavour.name}: head`, () => {
    test("on an empty topic: a replay from it gives nothing, then exactly what was published after it", async () => {
      const broker = flavour.broker();
      const head = await headOf(broker, "empty");
      assert.deepEqual(replayed(await broker.replay("empty", head)), []);
      assert.equal(await headOf(broker, "empty"), head, "the same starting point when asked again");
      for (const n of ["1", "2", "3"]) await broker.publish("empty", undefined, n);
      assert.deepEqual(replayed(await broker.replay("empty", head)), ["1", "2", "3"]);
    });

    test("on a topic with messages: the newest one's id; a replay from it gives what came after", async () => {
      const broker = flavour.broker();
      await broker.publish("t", undefined, "old-1");
      const newest = await broker.publish("t", undefined, "old-2");
      const head = await headOf(broker, "t");
      assert.equal(head, newest);
      for (const n of ["1", "2", "3"]) await broker.publish("t", "e", n);
      assert.deepEqual(replayed(await broker.replay("t", head)), ["1", "2", "3"]);
      assert.deepEqual(replayed(await broker.replay("t", await headOf(broker, "t"))), []);
    });
  });
}

describe("redisBroker: head", () => {
  test("resolves only once live delivery here has reached it (what comes live after it is what follows it)", async () => {
    const prefix = redis.freshPrefix();
    const publisher = redis.makeBroker({ prefix });
    const subscriber = redis.makeBroker({ prefix });
    const received: StoredMessage[] = [];
    await subscriber.subscribe("t", (message) => received.push(message));
    await publisher.publish("t", undefined, "0");
    let publishing = true;
    const published = (async () => {
      for (let i = 1; publishing; i++) await publisher.publish("t", undefined, String(i));
    })();
    try {
      for (let round = 0; round < 50; round++) {
        const head = await headOf(subscriber, "t");
        const delivered = received.at(-1);
        assert.ok(
          delivered && subscriber.compareIds(delivered.id, head) >= 0,
          `round ${round}: head ${head}, live delivery was at ${delivered?.id}`,
        );
      }
    } finally {
      publishing = false;
      await published;
    }
  });

  test("rejects clearly once the broker is closed", async () => {
    const broker = redis.makeBroker({ prefix: redis.freshPrefix() });
    await broker.close();
    await assert.rejects(headOf(broker, "t"), /the head of topic "t" could not be read/);
  });
});
