// app.metrics(): each counter moves exactly as AppMetrics documents, against real sockets.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { z } from "zod";
import { type AppMetrics, type SluiceWebSocket, StreamingResponse } from "../src/index.js";
import { RealtimeSink } from "../src/realtime/realtime-sink.js";
import { redisBroker } from "../src/redis/index.js";
import { TopicMessage } from "../src/topics/topic-message.js";
import { createLogger } from "../src/util/logger.js";
import { TrafficCounters } from "../src/util/traffic-counters.js";
import { loopbackListener, quietApp } from "./support/apps.js";
import { bothBrokers } from "./support/both-brokers.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { RedisServer } from "./support/redis-server.js";
import { SseClient } from "./support/sse-client.js";
import { sleep, waitFor } from "./support/wait.js";

const listen = loopbackListener();
let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(() => redis.stop());

/**
 * A `ws` client on `url`, resolved once its route said "ready" (its subscription is live);
 * the messages after that are counted.
 */
async function wsClient(url: string): Promise<{ ws: WebSocket; received: () => number }> {
  const ws = new WebSocket(url);
  let received = -1;
  ws.on("error", () => {}); // a cut shows as the close
  await new Promise<void>((resolve, reject) => {
    ws.on("message", () => {
      if (++received === 0) resolve();
    });
    ws.once("error", reject);
  });
  return { ws, received: () => received };
}

/** A WebSocket route's handler: follows `topic`, says "ready" once live, waits for the close. */
function following(topic: string) {
  return async (socket: SluiceWebSocket) => {
    await socket.subscribe(topic);
    await socket.send("ready");
    await socket.closed;
  };
}

/** An SseClient whose response has begun: its route's subscription is live. */
async function openedSse(url: string): Promise<SseClient> {
  const client = new SseClient(url);
  await waitFor(() => client.responded, `the response of ${url}`, 5000);
  return client;
}

/** The counters only, without the process figures that move by themselves. */
function counts(metrics: AppMetrics): Omit<AppMetrics, "process"> {
  const { process: _, ...rest } = metrics;
  return rest;
}

describe("app.metrics(): published and delivered", () => {
  for (const broker of ["memory broker", "Redis broker"] as const) {
    test(`${broker}: n publishes to a WebSocket and an SSE subscriber count n published and n delivered on each transport`, async () => {
      const made = bothBrokers(redis, "metrics-publish").find((each) => each.name === broker);
      const app = quietApp({ broker: made?.make() });
      app.sse("/sse/:topic", (req) =>
        app.subscribe(req.params.topic as string, { signal: req.signal }),
      );
      app.websocket("/ws", following("news"));
      const url = await listen(app);
      assert.deepEqual(counts(app.metrics()), {
        connections: { websocket: 0, sse: 0 },
        published: 0,
        delivered: { websocket: 0, sse: 0 },
        slowConsumerCutoffs: 0,
        brokerReconnects: 0,
        topicSubscribers: 0,
      });
      const sse = await openedSse(`${url}/sse/news`);
      const ws = await wsClient(`${url.replace("http", "ws")}/ws`);
      const n = 7;
      for (let i = 0; i < n; i++) await app.publish("news", { i });
      await sse.waitForEvents(n);
      await waitFor(() => ws.received() === n, `${n} WebSocket messages`);
      assert.deepEqual(counts(app.metrics()), {
        connections: { websocket: 1, sse: 1 },
        published: n,
        delivered: { websocket: n, sse: n },
        slowConsumerCutoffs: 0,
        brokerReconnects: 0,
        topicSubscribers: 2,
      });
      const snapshot = app.metrics();
      assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot, "JSON-serialisable");
      // Live-only messages are published and delivered too.
      await app.publish("news", { typing: true }, { store: false });
      await waitFor(() => ws.received() === n + 1, "the live-only message");
      await sse.waitForEvents(n + 1);
      assert.equal(app.metrics().published, n + 1);
      assert.deepEqual(app.metrics().delivered, { websocket: n + 1, sse: n + 1 });
      sse.close();
      ws.ws.close();
      await waitFor(() => app.connections.sse === 0 && app.connections.websocket === 0, "closed");
      assert.deepEqual(app.metrics().connections, { websocket: 0, sse: 0 });
    });
  }

  test("a publish refused by the topic's schema, or with no subscriber, counts as it should", async () => {
    const app = quietApp().topic("strict", { schema: z.object({ text: z.string() }) });
    await assert.rejects(app.publish("strict", { text: 1 } as never));
    assert.equal(app.metrics().published, 0, "refused: nothing published");
    await app.publish("strict", { text: "ok" });
    assert.deepEqual(app.metrics().delivered, { websocket: 0, sse: 0 }, "no subscriber");
    assert.equal(app.metrics().published, 1);
  });

  test("replayed messages count as delivered, one per subscriber per message", async () => {
    const app = quietApp();
    app.sse("/sse", (req) => app.subscribe("log", { replay: 3, signal: req.signal }));
    const url = await listen(app);
    for (let i = 0; i < 3; i++) await app.publish("log", { i });
    const first = new SseClient(`${url}/sse`);
    const second = new SseClient(`${url}/sse`);
    await first.waitForEvents(3);
    await second.waitForEvents(3);
    assert.equal(app.metrics().delivered.sse, 6);
    first.close();
    second.close();
  });

  test("the real-time endpoint: publish frames count as published, its WebSocket and SSE subscribers as delivered", async () => {
    const app = quietApp();
    app.realtime("/rt", { subscribe: ["room:*"], publish: ["room:*"] });
    const url = await listen(app);
    const peer = await RealtimePeer.connect(`${url.replace("http", "ws")}/rt`);
    assert.equal((await peer.request({ type: "subscribe", topic: "room:1" })).ok, true);
    const sse = await openedSse(`${url}/rt?topic=room:1`);
    assert.equal(
      (await peer.request({ type: "publish", topic: "room:1", data: { text: "hi" } })).ok,
      true,
    );
    await app.publish("room:1", { text: "there" });
    await peer.waitForMessages("room:1", 2);
    await waitFor(() => sse.events.filter((event) => event.data !== "").length === 2, "2 events");
    const metrics = app.metrics();
    assert.equal(metrics.published, 2);
    assert.deepEqual(metrics.delivered, { websocket: 2, sse: 2 });
    sse.close();
    await peer.close();
  });
});

describe("app.metrics(): slow consumers cut off", () => {
  test("a subscription past its maxQueued is cut off: +1, and only once", async () => {
    const app = quietApp();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.sse("/held", async function* (req) {
      const subscription = app.subscribe("busy", { maxQueued: 2, signal: req.signal });
      await held; // a consumer busy elsewhere: messages queue
      yield* subscription;
    });
    const url = await listen(app);
    const client = new SseClient(`${url}/held`);
    await waitFor(() => app.topicSubscribers === 1, "the subscription live", 5000);
    for (let i = 0; i < 2; i++) await app.publish("busy", { i });
    assert.equal(app.metrics().slowConsumerCutoffs, 0, "within maxQueued");
    for (let i = 2; i < 6; i++) await app.publish("busy", { i });
    assert.equal(app.metrics().slowConsumerCutoffs, 1);
    release();
    await client.ended;
    assert.equal(app.metrics().slowConsumerCutoffs, 1);
    // What was queued went with the cut: the client resumes from its last id.
    assert.equal(app.metrics().delivered.sse, 0);
  });

  test("a WebSocket peer that does not read is closed with 1013 past maxBuffered: +1", async () => {
    const app = quietApp();
    app.websocket("/ws", { maxBuffered: 64 * 1024 }, following("flood"));
    const url = await listen(app);
    const client = await wsClient(`${url.replace("http", "ws")}/ws`);
    client.ws.pause();
    const payload = "x".repeat(64 * 1024);
    for (let i = 0; app.connections.websocket > 0; i++) {
      assert.ok(i < 10_000, "the peer was never closed");
      await app.publish("flood", { payload });
      await sleep(1); // a new turn: the socket judges what is still queued
    }
    assert.equal(app.metrics().slowConsumerCutoffs, 1);
    client.ws.terminate();
  });

  test("a stream whose client takes nothing for sendTimeout is cut: +1", async () => {
    const app = quietApp({ sendTimeout: 200 });
    const chunk = "y".repeat(64 * 1024);
    app.get(
      "/download",
      () =>
        new StreamingResponse(
          (function* () {
            for (;;) yield chunk;
          })(),
        ),
    );
    const { port } = new URL(await listen(app));
    const client = connect(Number(port), "127.0.0.1");
    client.pause(); // never reads: the server's writes fill the kernel's buffers, then its own
    client.write("GET /download HTTP/1.1\r\nhost: localhost\r\n\r\n");
    await waitFor(() => app.metrics().slowConsumerCutoffs === 1, "the cut", 5000);
    await sleep(400); // another sendTimeout: nothing more is counted
    assert.equal(app.metrics().slowConsumerCutoffs, 1);
    client.destroy();
  });

  test("a real-time SSE stream past its queue is cut off: +1", async () => {
    const app = quietApp();
    app.realtime("/rt", { subscribe: ["*"], publish: [] });
    const url = await listen(app);
    const client = await openedSse(`${url}/rt?topic=flood`);
    client.pause();
    const payload = "z".repeat(16 * 1024);
    // Published in one turn: the stream cannot send between them, so they queue.
    await Promise.all(Array.from({ length: 1100 }, () => app.publish("flood", { payload })));
    await waitFor(() => app.metrics().slowConsumerCutoffs === 1, "the cut-off", 5000);
    client.close();
  });
});

describe("RealtimeSink counts for the App (the real-time WebSocket's subscriptions)", () => {
  const message = (id: number) =>
    new TopicMessage({ topic: "t", id: `1-${id}`, event: undefined, json: `"${"x".repeat(40)}"` });

  /** A socket whose sends complete at once, and that records its closes. */
  const socket = () => ({
    closes: [] as number[],
    send: async () => {},
    close(code: number) {
      this.closes.push(code);
    },
  });

  test("what it held behind a replay counts once sent; live messages after that at once", async () => {
    const counters = new TrafficCounters();
    const sink = new RealtimeSink(socket(), 1 << 20, createLogger(false), "c", false, counters);
    sink.receiveMissed([message(1), message(2)]);
    sink.receive(message(3));
    assert.equal(counters.deliveredWebSocket, 0, "held until the reply went out");
    await sink.open();
    sink.receive(message(4));
    assert.equal(counters.deliveredWebSocket, 4);
  });

  test("live messages held past maxBuffered close the peer with 1013: one cut-off", () => {
    const counters = new TrafficCounters();
    const peer = socket();
    const frameBytes = message(0).realtimeFrame.payload.length;
    const sink = new RealtimeSink(peer, frameBytes, createLogger(false), "c", false, counters);
    sink.receiveMissed([message(1)]);
    sink.receive(message(2));
    sink.receive(message(3));
    sink.receive(message(4));
    assert.deepEqual(peer.closes, [1013]);
    assert.equal(counters.slowConsumerCutoffs, 1);
    assert.equal(counters.deliveredWebSocket, 0);
  });
});

describe("app.metrics(): broker reconnects", () => {
  test("the memory broker never reconnects: 0", () => {
    assert.equal(quietApp().metrics().brokerReconnects, 0);
  });

  test("Redis killed and started again counts one reconnect, once both connections are back", async () => {
    // Persistent: the log survives, so the subscriber catches up from it after the outage.
    const server = await RedisServer.start({ persistent: true });
    try {
      const app = quietApp({ broker: redisBroker({ url: server.url }) });
      app.sse("/sse", (req) => app.subscribe("up", { signal: req.signal }));
      const url = await listen(app);
      const client = await openedSse(`${url}/sse`);
      await app.publish("up", { before: true });
      assert.equal(app.metrics().brokerReconnects, 0);
      await server.kill();
      await assert.rejects(app.publish("up", { during: true }));
      assert.equal(app.metrics().brokerReconnects, 0, "down, not back yet");
      await server.start();
      await waitFor(() => app.metrics().brokerReconnects >= 1, "the reconnect", 10_000);
      // Both connections are back: delivery goes on, and the count stays at one outage.
      await app.publish("up", { after: true });
      await client.waitForEvents(2, 5000);
      await sleep(300);
      assert.equal(app.metrics().brokerReconnects, 1);
      client.close();
    } finally {
      await server.stop();
    }
  });
});
