/*
 * The shared topic semantics on redisBroker (two Apps, each with its own broker, sharing one
 * real redis-server), plus what only a shared broker has: an outage in the middle of a stream.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { App } from "../src/index.js";
import { redisBroker } from "../src/redis/index.js";
import { RedisServer } from "./support/redis-server.js";
import { SseClient } from "./support/sse-client.js";
import { topicSemantics } from "./support/topic-semantics.js";
import { sleep } from "./support/wait.js";

const server = await RedisServer.start();
after(() => server.stop());

topicSemantics("the Redis broker", {
  create: (options) =>
    redisBroker({ url: server.url, history: options?.history ?? 1000, prefix: "semantics:" }),
});

describe("topics on Redis across an outage", () => {
  test("Redis restarts mid-stream: SSE clients on the other instance get every accepted message, in order", async () => {
    const a = new App({
      logger: false,
      broker: redisBroker({ url: server.url, prefix: "outage:" }),
    });
    const b = new App({
      logger: false,
      broker: redisBroker({ url: server.url, prefix: "outage:" }),
    });
    b.sse("/feed", (req) =>
      b.subscribe("feed", { lastEventId: req.lastEventId, signal: req.signal }),
    );
    const { url } = await b.listen({ port: 0, host: "127.0.0.1" });
    try {
      const clients = [new SseClient(`${url}/feed`), new SseClient(`${url}/feed`)];
      await sleep(200);
      const accepted: number[] = [];
      let refused = 0;
      let next = 0;
      const publishing = (async () => {
        const until = Date.now() + 3000;
        while (Date.now() < until) {
          const value = next++;
          try {
            await a.publish("feed", value);
            accepted.push(value);
          } catch (error) {
            refused++;
            assert.match(String(error), /Redis is unavailable/);
          }
          await sleep(5);
        }
      })();
      await sleep(700);
      await server.stop();
      await sleep(500);
      await server.start();
      await publishing;
      assert.ok(refused > 0, "some publishes met the outage");
      assert.ok(accepted.length > 100, `enough got through (${accepted.length})`);
      for (const client of clients) {
        await client.waitForEvents(accepted.length, 10_000);
        await sleep(50);
        assert.deepEqual(client.messages, accepted, "every accepted message, once, in order");
        client.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
