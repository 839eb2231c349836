/*
 * The topic semantics every broker must give an App, run against each broker (memory, Redis):
 * two App instances on two ports share the broker's topics, with real SSE and WebSocket
 * clients over 127.0.0.1.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { App, type Broker } from "../../src/index.js";
import { SseClient } from "./sse-client.js";
import { sleep, waitFor } from "./wait.js";

export interface BrokerFixture {
  /** A broker for one App instance; instances made by one fixture share their topics. */
  create(options?: { history?: number }): Broker;
  /** Called once after the suite. */
  cleanup?(): Promise<void>;
}

interface Instance {
  app: App;
  url: string;
}

async function startInstance(broker: Broker, maxQueued?: number): Promise<Instance> {
  const app = new App({ logger: false, broker });
  app.sse("/topics/:topic", (req) =>
    app.subscribe(req.params.topic as string, {
      lastEventId: req.lastEventId,
      signal: req.signal,
      maxQueued: maxQueued ?? 1000,
    }),
  );
  app.websocket("/ws/:topic", async (socket) => {
    const lastEventId = socket.request.query.get("last") ?? undefined;
    await socket.subscribe(socket.request.params.topic as string, { lastEventId });
    socket.sendJson({ subscribed: true });
    for await (const message of socket) {
      if (message === "unsubscribe") {
        socket.unsubscribe(socket.request.params.topic as string);
        socket.sendJson({ unsubscribed: true });
      }
    }
  });
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, url };
}

/** A WebSocket client that records every JSON message. */
async function openSocket(url: string): Promise<{ ws: WebSocket; received: any[] }> {
  const ws = new WebSocket(url.replace(/^http/, "ws"));
  const received: any[] = [];
  ws.on("message", (data) => received.push(JSON.parse(String(data))));
  await waitFor(() => received.some((m) => m.subscribed), "the socket's subscription", 5000);
  return { ws, received };
}

let topicCounter = 0;
/** A topic no other test uses (a shared Redis keeps streams between tests). */
function freshTopic(): string {
  return `t${process.pid}-${Date.now()}-${++topicCounter}`;
}

export function topicSemantics(name: string, fixture: BrokerFixture): void {
  describe(`topics on ${name}`, () => {
    let a: Instance;
    let b: Instance;
    before(async () => {
      a = await startInstance(fixture.create());
      b = await startInstance(fixture.create());
    });
    after(async () => {
      await a.app.close();
      await b.app.close();
      await fixture.cleanup?.();
    });

    test("publish resolves ids that order the topic; history reads them back", async () => {
      const topic = freshTopic();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await a.app.publish(topic, { i }));
      assert.equal(new Set(ids).size, 5, "every message has its own id");
      assert.deepEqual(
        (await b.app.history(topic, { limit: 10 })).map((m) => m.id),
        ids,
        "the log keeps publish order",
      );
      const newest = await b.app.history(topic, { limit: 2 });
      assert.deepEqual(
        newest.map((m) => [m.id, m.data]),
        [
          [ids[3], { i: 3 }],
          [ids[4], { i: 4 }],
        ],
      );
      const afterFirst = await b.app.history(topic, { after: ids[0], limit: 3 });
      assert.deepEqual(
        afterFirst.map((m) => m.id),
        ids.slice(1, 4),
      );
      assert.deepEqual(await b.app.history(topic, { after: ids[4] }), []);
      assert.deepEqual(JSON.parse(JSON.stringify(newest[1])), {
        topic,
        id: ids[4],
        data: { i: 4 },
      });
    });

    test("a message published on A reaches SSE and WebSocket subscribers on B", async () => {
      const topic = freshTopic();
      const sse = new SseClient(`${b.url}/topics/${topic}`);
      const socket = await openSocket(`${b.url}/ws/${topic}`);
      await sleep(100); // the SSE subscription goes live once its stream starts
      const first = await a.app.publish(topic, { text: "hi" }, { event: "chat" });
      const second = await a.app.publish(topic, "plain text");
      const events = await sse.waitForEvents(2);
      assert.deepEqual(
        events.map((e) => [e.event, e.id, e.data]),
        [
          ["chat", first, '{"text":"hi"}'],
          ["message", second, "plain text"],
        ],
      );
      await waitFor(() => socket.received.length === 3, "two envelopes", 5000);
      assert.deepEqual(socket.received.slice(1), [
        { topic, id: first, event: "chat", data: { text: "hi" } },
        { topic, id: second, event: "message", data: "plain text" },
      ]);
      sse.close();
      socket.ws.close();
    });

    test("an SSE client that has its response head is subscribed: a message published on A right then reaches it on B", async () => {
      // Each round is a new topic, so B subscribes to the broker anew each time.
      for (let round = 0; round < 20; round++) {
        const topic = freshTopic();
        const abort = new AbortController();
        const response = await fetch(`${b.url}/topics/${topic}`, { signal: abort.signal });
        assert.equal(response.status, 200);
        const id = await a.app.publish(topic, { round });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        let text = "";
        const decoder = new TextDecoder();
        const deadline = setTimeout(() => abort.abort(), 3000);
        try {
          while (!text.includes("\n\n")) {
            const { value, done } = await reader.read();
            if (done) break;
            text += decoder.decode(value, { stream: true });
          }
        } catch {
          // aborted: the assertion below says what was missing
        } finally {
          clearTimeout(deadline);
          abort.abort();
        }
        assert.match(
          text,
          new RegExp(`id: ${id}\n`),
          `round ${round}: the message published after the 200`,
        );
      }
    });

    test("an SSE client that moves from A to B with its Last-Event-ID gets exactly what it missed, then live ones", async () => {
      const topic = freshTopic();
      const onA = new SseClient(`${a.url}/topics/${topic}`);
      await sleep(100);
      for (let i = 0; i < 3; i++) await a.app.publish(topic, i);
      await onA.waitForEvents(3);
      onA.close();
      await onA.ended;
      for (let i = 3; i < 8; i++) await a.app.publish(topic, i);
      const onB = new SseClient(`${b.url}/topics/${topic}`, onA.parser.lastEventId);
      await onB.waitForEvents(5);
      await a.app.publish(topic, 8);
      await onB.waitForEvents(6);
      await sleep(50);
      assert.deepEqual(onB.messages, [3, 4, 5, 6, 7, 8]);
      onB.close();
    });

    test("resuming while messages are being published: no gap and no repeat at the seam", async () => {
      const topic = freshTopic();
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await a.app.publish(topic, i));
      let next = 20;
      const publishing = (async () => {
        while (next < 200) {
          ids.push(await a.app.publish(topic, next++));
          if (next % 10 === 0) await sleep(1);
        }
      })();
      // Clients join mid-flight, each from a different point of the log.
      const clients = [5, 12, 19].map(
        (from) => [from, new SseClient(`${b.url}/topics/${topic}`, ids[from])] as const,
      );
      await publishing;
      for (const [from, client] of clients) {
        await client.waitForEvents(199 - from, 10_000);
        await sleep(20);
        const expected = Array.from({ length: 199 - from }, (_, k) => from + 1 + k);
        assert.deepEqual(client.messages, expected, `client resuming after #${from}`);
        client.close();
      }
    });

    test("a Last-Event-ID older than the retained history gets a reset event first, then live ones", async () => {
      const small = await startInstance(fixture.create({ history: 5 }));
      try {
        const topic = freshTopic();
        const first = await small.app.publish(topic, 0);
        let last = first;
        for (let i = 1; i < 600; i++) last = await small.app.publish(topic, i);
        const client = new SseClient(`${small.url}/topics/${topic}`, first);
        const [reset] = await client.waitForEvents(1);
        assert.equal(reset?.event, "reset");
        assert.equal(reset?.id, last, "the reset carries the newest id, to resume from");
        assert.deepEqual(JSON.parse(reset?.data ?? ""), { reason: "trimmed", lastEventId: first });
        const live = await small.app.publish(topic, "after reset");
        const events = await client.waitForEvents(2);
        assert.deepEqual([events[1]?.id, events[1]?.data], [live, "after reset"]);
        client.close();
      } finally {
        await small.app.close();
      }
    });

    test("a Last-Event-ID that is not of this log gets a reset with reason unknown", async () => {
      const topic = freshTopic();
      const head = await a.app.publish(topic, "x");
      for (const bogus of ["garbage", "99999999999999-0", "1-2-3"]) {
        const client = new SseClient(`${b.url}/topics/${topic}`, bogus);
        const [reset] = await client.waitForEvents(1);
        assert.equal(reset?.event, "reset", bogus);
        assert.equal(reset?.id, head);
        assert.deepEqual(JSON.parse(reset?.data ?? ""), { reason: "unknown", lastEventId: bogus });
        client.close();
      }
    });

    test("a WebSocket can resume from an id, and unsubscribe", async () => {
      const topic = freshTopic();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await a.app.publish(topic, i));
      const socket = await openSocket(`${b.url}/ws/${topic}?last=${ids[1]}`);
      await waitFor(() => socket.received.length >= 2, "the replayed envelopes", 5000);
      // Replayed before the handler's own "subscribed" message: subscribe() resolves after it.
      assert.deepEqual(
        socket.received.filter((m) => m.topic).map((m) => m.data),
        [2, 3],
      );
      await a.app.publish(topic, 4);
      await waitFor(() => socket.received.some((m) => m.data === 4), "the live envelope", 5000);
      socket.ws.send("unsubscribe");
      await waitFor(() => socket.received.some((m) => m.unsubscribed), "unsubscribed", 5000);
      await a.app.publish(topic, 5);
      await sleep(200);
      assert.ok(!socket.received.some((m) => m.data === 5), "nothing after unsubscribe");
      socket.ws.close();
    });

    test("a slow SSE consumer is cut off while the others keep up; when it resumes it loses nothing", async () => {
      const slowApp = await startInstance(fixture.create(), 50);
      try {
        const topic = freshTopic();
        const slow = new SseClient(`${slowApp.url}/topics/${topic}`);
        const fast = new SseClient(`${slowApp.url}/topics/${topic}`);
        await sleep(100);
        await a.app.publish(topic, 0);
        await slow.waitForEvents(1);
        slow.pause();
        const payload = "x".repeat(32 * 1024);
        const total = 300; // ~10 MB: more than the socket buffers hold
        for (let i = 1; i < total; i++) {
          await a.app.publish(topic, { i, payload });
          await sleep(1); // a pace the reading client keeps up with
        }
        await fast.waitForEvents(total, 10_000);
        // The slow client's connection was ended by the server while it was not reading.
        slow.resume();
        await Promise.race([
          slow.ended,
          sleep(5000).then(() => assert.fail("the slow consumer was not cut off")),
        ]);
        const resumed = new SseClient(`${slowApp.url}/topics/${topic}`, slow.parser.lastEventId);
        const got = slow.events.length;
        await resumed.waitForEvents(total - got, 10_000);
        const seen = [...slow.events, ...resumed.events].map((e) => JSON.parse(e.data));
        assert.deepEqual(
          seen.map((d) => (typeof d === "number" ? d : d.i)),
          Array.from({ length: total }, (_, i) => i),
        );
        fast.close();
        resumed.close();
      } finally {
        await slowApp.app.close();
      }
    });

    test("app.close() ends subscriptions iterated in code", async () => {
      const own = await startInstance(fixture.create());
      const topic = freshTopic();
      const seen: unknown[] = [];
      const subscription = own.app.subscribe(topic);
      const loop = (async () => {
        for await (const event of subscription) seen.push(event.data);
      })();
      await sleep(100);
      await a.app.publish(topic, "one");
      await waitFor(() => seen.length === 1, "the message", 5000);
      await own.app.close();
      await Promise.race([loop, sleep(5000).then(() => assert.fail("the loop did not end"))]);
      assert.deepEqual(seen, ["one"]);
    });
  });
}
