// Issue 22, live-only messages: app.publish(topic, data, { store: false }) reaches the topic's
// current subscribers on every instance (app.subscribe, an SSE route, socket.subscribe), is
// never in history, never replayed (replay: n, a Last-Event-ID resume), has the id "" (no
// `id:` line over SSE, so an EventSource that reconnects resumes from the last stored message,
// losing and repeating nothing), and keeps its place among stored messages in a storm of
// concurrent publishes. Two App instances on one memory broker, and on one real Redis.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { EventSource } from "eventsource";
import { WebSocket } from "ws";
import { App, type TopicSubscription } from "../src/index.js";
import { readyForHead } from "../src/sse/head-after-ready.js";
import { RedisServer } from "./support/redis-server.js";
import { SseClient } from "./support/sse-client.js";
import { closeAll, instancePairs, twoApps } from "./support/two-instances.js";
import { waitFor, within } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());

interface Seen {
  id: string | undefined;
  data: unknown;
}

/** The next `count` events of a subscription: their ids and data. */
async function take(subscription: TopicSubscription, count: number): Promise<Seen[]> {
  const taken: Seen[] = [];
  while (taken.length < count) {
    const step = await within(subscription.next(), `event ${taken.length + 1} of ${count}`, 10_000);
    assert.equal(step.done, false, "the subscription ended early");
    taken.push({ id: step.value?.id, data: step.value?.data });
  }
  return taken;
}

/** An SSE event's data: JSON, or a string sent as it is (strings are not JSON-encoded). */
function sseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A WebSocket on `url` whose JSON frames are kept; resolves once its first frame came. */
async function socketOn(url: string): Promise<{ ws: WebSocket; frames: unknown[] }> {
  const ws = new WebSocket(url);
  const frames: unknown[] = [];
  ws.on("message", (data) => frames.push(JSON.parse(String(data))));
  await waitFor(() => frames.length > 0, "the socket's subscription", 10_000);
  return { ws, frames };
}

for (const pair of instancePairs(redis, "topic-live-only")) {
  describe(`live-only messages on the ${pair.name}`, () => {
    test('store: false reaches subscribers on both instances (app.subscribe, SSE, WebSocket) with the id "", and is never in history or a replay', async () => {
      const [a, b] = twoApps(pair);
      b.sse("/topics/:topic", (req) =>
        b.subscribe(req.params.topic as string, {
          lastEventId: req.lastEventId,
          signal: req.signal,
        }),
      );
      b.websocket("/ws/:topic", async (socket) => {
        await socket.subscribe(socket.request.params.topic as string);
        await socket.sendJson("subscribed");
        await socket.closed;
      });
      try {
        const { url } = await b.listen({ port: 0, host: "127.0.0.1" });
        const onA = a.subscribe("room");
        const onB = b.subscribe("room");
        await Promise.all([onA[readyForHead](), onB[readyForHead]()]);
        const sse = new SseClient(`${url}/topics/room`);
        const { ws, frames } = await socketOn(`${url.replace("http", "ws")}/ws/room`);
        const s1 = await a.publish("room", "s1");
        await sse.waitForEvents(1, 10_000);

        const liveId = await a.publish("room", { typing: "ada" }, { store: false });
        assert.equal(liveId, "", 'a live-only publish resolves the id ""');
        const s2 = await b.publish("room", "s2");

        const expected = [
          { id: s1, data: "s1" },
          { id: undefined, data: { typing: "ada" } },
          { id: s2, data: "s2" },
        ];
        assert.deepEqual(await take(onA, 3), expected, "app.subscribe on the publishing instance");
        assert.deepEqual(await take(onB, 3), expected, "app.subscribe on the other instance");
        await sse.waitForEvents(3, 10_000);
        assert.deepEqual(
          sse.events.map(({ id, data }) => ({ id, data: sseData(data) })),
          expected,
          "the SSE event of a live-only message has no id: line",
        );
        await waitFor(() => frames.length === 4, "the socket's three messages", 10_000);
        assert.deepEqual(frames.slice(1), [
          { topic: "room", id: s1, event: "message", data: "s1" },
          { topic: "room", id: "", event: "message", data: { typing: "ada" } },
          { topic: "room", id: s2, event: "message", data: "s2" },
        ]);

        for (const app of [a, b]) {
          const history = await app.history("room");
          assert.deepEqual(
            history.map((message) => message.data),
            ["s1", "s2"],
            "history holds the stored ones only",
          );
        }
        const replayed = b.subscribe("room", { replay: 10 });
        assert.deepEqual(
          (await take(replayed, 2)).map((seen) => seen.data),
          ["s1", "s2"],
          "replay: n gives the stored ones only",
        );
        const resumed = a.subscribe("room", { lastEventId: s1 });
        assert.deepEqual((await take(resumed, 1))[0]?.data, "s2", "a resume skips the live-only");
        const resumedSse = new SseClient(`${url}/topics/room`, s1);
        await resumedSse.waitForEvents(1, 10_000);
        // The first live message after a resume is a live-only one: it passes, moving nothing.
        await a.publish("room", "typing again", { store: false });
        await a.publish("room", "s3");
        for (const subscription of [replayed, resumed]) {
          assert.deepEqual(
            (await take(subscription, 2)).map((seen) => seen.data),
            ["typing again", "s3"],
            "live after a replay or a resume: live-only ones too",
          );
        }
        await resumedSse.waitForEvents(3, 10_000);
        assert.deepEqual(
          resumedSse.events.map((event) => sseData(event.data)),
          ["s2", "typing again", "s3"],
          "an SSE resume skips the earlier live-only one, and gets the later one live",
        );
        for (const subscription of [onA, onB, replayed, resumed]) subscription.end();
        sse.close();
        resumedSse.close();
        ws.close();
      } finally {
        await closeAll([a, b]);
      }
    });

    test("an EventSource that reconnects after a live-only event resumes from the last stored one: nothing lost, nothing repeated", async () => {
      const [a, b] = twoApps(pair);
      const lastEventIds: (string | undefined)[] = [];
      let live = 0;
      b.sse("/events", { retry: 100 }, async function* (req) {
        lastEventIds.push(req.lastEventId);
        const first = lastEventIds.length === 1;
        let sent = 0;
        const subscription = b.subscribe("feed", {
          lastEventId: req.lastEventId,
          signal: req.signal,
        });
        await subscription[readyForHead]();
        live++;
        for await (const event of subscription) {
          yield event;
          // The first connection ends after its third event, a live-only one.
          if (first && ++sent === 3) return;
        }
      });
      try {
        const { url } = await b.listen({ port: 0, host: "127.0.0.1" });
        const received: { data: unknown; lastEventId: string }[] = [];
        const es = new EventSource(`${url}/events`);
        es.addEventListener("message", (event) =>
          received.push({ data: sseData(String(event.data)), lastEventId: event.lastEventId }),
        );
        await waitFor(() => live === 1, "the subscription", 10_000);
        const s1 = await a.publish("feed", "s1");
        const s2 = await a.publish("feed", "s2");
        await a.publish("feed", "typing", { store: false });
        await waitFor(() => received.length === 3, "three events", 10_000);
        // Published while the EventSource is away: it must come with the resume.
        await a.publish("feed", "s3");
        await waitFor(() => lastEventIds.length === 2, "the reconnection", 10_000);
        await waitFor(() => received.length >= 4, "the resumed event", 10_000);
        await a.publish("feed", "s4");
        await waitFor(() => received.length >= 5, "a live event after the resume", 10_000);
        es.close();
        assert.deepEqual(lastEventIds, [undefined, s2], "it came back with the last stored id");
        assert.deepEqual(
          received.map((event) => event.data),
          ["s1", "s2", "typing", "s3", "s4"],
        );
        assert.equal(received[0]?.lastEventId, s1);
        assert.equal(received[2]?.lastEventId, "", "the live-only event set no id");
      } finally {
        await closeAll([a, b]);
      }
    });

    test("a storm of stored and live-only publishes from both instances at once: every subscriber gets every message once, in each publisher's order", async () => {
      const [a, b] = twoApps(pair);
      try {
        const subscribers = [a.subscribe("storm"), a.subscribe("storm"), b.subscribe("storm")];
        await Promise.all(subscribers.map((subscription) => subscription[readyForHead]()));
        const lanes = [a, a, b, b];
        const perLane = 60;
        await Promise.all(
          lanes.map(async (app, lane) => {
            for (let n = 0; n < perLane; n++) {
              const store = n % 3 !== 1;
              await app.publish("storm", { lane, n, store }, { store });
            }
          }),
        );
        const total = lanes.length * perLane;
        const sequences: string[][] = [];
        for (const subscription of subscribers) {
          const seen = await take(subscription, total);
          const next = lanes.map(() => 0);
          for (const { id, data } of seen) {
            const { lane, n, store } = data as { lane: number; n: number; store: boolean };
            assert.equal(n, next[lane], `lane ${lane}: message ${next[lane]} next, got ${n}`);
            next[lane] = n + 1;
            assert.equal(id === undefined, !store, "only the live-only ones have no id");
          }
          sequences.push(seen.map(({ data }) => JSON.stringify(data)));
          subscription.end();
        }
        assert.deepEqual(sequences[1], sequences[0], "one order for every subscriber");
        assert.deepEqual(sequences[2], sequences[0], "the same order on the other instance");
        const stored = await b.history("storm", { limit: 1000 });
        assert.equal(stored.length, total - lanes.length * (perLane / 3));
        assert.ok(stored.every((message) => (message.data as { store: boolean }).store));
      } finally {
        await closeAll([a, b]);
      }
    });
  });
}

describe("store: bad values", () => {
  test("store must be a boolean: a TypeError saying so, and nothing is published", async () => {
    const app = new App({ logger: false });
    try {
      for (const store of ["false", 0, null, {}]) {
        await assert.rejects(
          app.publish("room", "x", { store: store as boolean }),
          (error: unknown) =>
            error instanceof TypeError && /publish\(\) store must be a boolean/.test(error.message),
          String(store),
        );
      }
      assert.deepEqual(await app.history("room"), []);
    } finally {
      await app.close();
    }
  });

  test("a dedupeKey is ignored with store: false: each publish is delivered, none is stored", async () => {
    const app = new App({ logger: false });
    try {
      const subscription = app.subscribe("room");
      await subscription[readyForHead]();
      for (let n = 0; n < 2; n++) {
        assert.equal(await app.publish("room", n, { store: false, dedupeKey: "same" }), "");
      }
      assert.deepEqual(
        (await take(subscription, 2)).map((seen) => seen.data),
        [0, 1],
      );
      assert.deepEqual(await app.history("room"), []);
      subscription.end();
    } finally {
      await app.close();
    }
  });
});
