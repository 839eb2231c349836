/*
 * The SSE side of app.realtime(): GET path?topic=a&topic=b streams several topics with one
 * position as the event id, resumed with one Last-Event-ID (by a real EventSource, and over
 * fetch), resets, and the 400/403 answers.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EventSource } from "eventsource";
import { type App, type Broker, memoryBroker } from "../src/index.js";
import { SseParser } from "../src/sse/sse-parser.js";
import { quietApp } from "./support/apps.js";
import { sleep, waitFor } from "./support/wait.js";

const OPTIONS = { subscribe: ["a", "b", "c", "room:*"], sse: { retry: 50 } };

function realtimeApp(broker: Broker): App {
  const app = quietApp({ broker });
  app.realtime("/rt", OPTIONS);
  return app;
}

/** Reads an SSE response over fetch until `count` events came; resolves them. */
async function readEvents(response: Response, count: number) {
  const parser = new SseParser();
  const events: ReturnType<SseParser["push"]> = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const deadline = Date.now() + 3000;
  while (events.length < count) {
    if (Date.now() > deadline) throw new Error(`got ${events.length} of ${count} events`);
    const { value, done } = await reader.read();
    if (done) break;
    events.push(...parser.push(value));
  }
  await reader.cancel();
  return events;
}

describe("app.realtime over SSE", () => {
  let app: App;
  let keeper: App;
  let url: string;
  before(async () => {
    const broker = memoryBroker({ history: 3 });
    keeper = quietApp({ broker });
    app = realtimeApp(broker);
    url = `${(await app.listen({ port: 0, host: "127.0.0.1" })).url}/rt`;
  });
  after(async () => {
    await app.close();
    await keeper.close();
  });

  test("two topics in one stream; the id is both cursors; resuming over fetch misses and repeats nothing", async () => {
    const response = await fetch(`${url}?topic=a&topic=b`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
    const ida = await keeper.publish("a", { n: 1 }, { event: "said" });
    const idb = await keeper.publish("b", 2);
    const events = await readEvents(response, 2);
    assert.deepEqual(events[0], {
      event: "said",
      data: JSON.stringify({ topic: "a", id: ida, event: "said", data: { n: 1 } }),
      id: events[0]?.id,
      ...(events[0] && "retry" in events[0] ? { retry: events[0].retry } : {}),
    });
    const position = events[1]?.id as string;
    assert.equal(position, `${encodeURIComponent(ida)},${encodeURIComponent(idb)}`);
    // Missed while away: one on each topic.
    await keeper.publish("a", "a2");
    await keeper.publish("b", "b2");
    const resumed = await fetch(`${url}?topic=a&topic=b`, {
      headers: { "last-event-id": position },
    });
    const again = await readEvents(resumed, 2);
    assert.deepEqual(
      again.map((event) => JSON.parse(event.data).data),
      ["a2", "b2"],
    );
  });

  test("a cursor older than the history gives event: reset for that topic only", async () => {
    const old = await keeper.publish("c", 0);
    for (const n of [1, 2, 3, 4]) await keeper.publish("c", n);
    const headA = (await keeper.history("a", { limit: 1 }))[0]?.id as string;
    const response = await fetch(`${url}?topic=a&topic=c`, {
      headers: { "last-event-id": `${encodeURIComponent(headA)},${encodeURIComponent(old)}` },
    });
    const [reset] = await readEvents(response, 1);
    assert.equal(reset?.event, "reset");
    const body = JSON.parse(reset?.data as string);
    assert.deepEqual(body, { topic: "c", id: body.id, reason: "trimmed", since: old });
  });

  test("a Last-Event-ID with the wrong number of entries starts every topic from now", async () => {
    await keeper.publish("a", "old");
    const response = await fetch(`${url}?topic=a&topic=b`, { headers: { "last-event-id": "1-1" } });
    await sleep(20);
    await keeper.publish("b", "new");
    const [event] = await readEvents(response, 1);
    assert.equal(JSON.parse(event?.data as string).data, "new");
  });

  test("no topic, too many, or one twice: 400; one not allowed: 403; nothing streamed", async () => {
    const none = await fetch(url);
    assert.equal(none.status, 400);
    assert.match(((await none.json()) as { message: string }).message, /Name 1 to 32 topics/);
    const many = Array.from({ length: 33 }, (_, i) => `topic=room:${i}`).join("&");
    assert.equal((await fetch(`${url}?${many}`)).status, 400);
    assert.equal((await fetch(`${url}?topic=a&topic=a`)).status, 400);
    const forbidden = await fetch(`${url}?topic=a&topic=secret`);
    assert.equal(forbidden.status, 403);
    assert.match(((await forbidden.json()) as { message: string }).message, /secret/);
    await sleep(20);
    assert.equal(app.topicSubscribers, 0);
  });
});

describe("app.realtime over SSE with a real EventSource", () => {
  test("the server goes away and comes back on the same port: EventSource resumes every topic with one Last-Event-ID", async () => {
    const broker = memoryBroker();
    const keeper = quietApp({ broker });
    let app = realtimeApp(broker);
    const { port, url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const source = new EventSource(`${url}/rt?topic=a&topic=b&topic=room:1`);
    const received: { topic: string; data: unknown }[] = [];
    source.addEventListener("message", (event) => {
      const { topic, data } = JSON.parse(event.data);
      received.push({ topic, data });
    });
    try {
      await waitFor(() => source.readyState === EventSource.OPEN, "the EventSource open");
      await keeper.publish("a", 1);
      await keeper.publish("room:1", 1);
      await waitFor(() => received.length === 2, "the first two messages");
      await app.close();
      await keeper.publish("b", 2);
      await keeper.publish("a", 2);
      app = realtimeApp(broker);
      await app.listen({ port, host: "127.0.0.1" });
      await waitFor(
        () => received.length === 4,
        "the messages published while the server was down",
        5000,
      );
      await keeper.publish("room:1", 3);
      await waitFor(() => received.length === 5, "a live message after the resume");
      // Order is kept per topic (the missed messages of each topic come in turn).
      const byTopic = (topic: string) =>
        received.filter((m) => m.topic === topic).map((m) => m.data);
      assert.equal(received.length, 5);
      assert.deepEqual(byTopic("a"), [1, 2]);
      assert.deepEqual(byTopic("b"), [2]);
      assert.deepEqual(byTopic("room:1"), [1, 3]);
    } finally {
      source.close();
      await app.close();
      await keeper.close();
    }
  });
});
