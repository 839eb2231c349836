import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { type App, SseEvent, TopicMessage } from "../src/index.js";
import { sseEventOfJson } from "../src/sse/sse-event.js";
import { SseParser } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { LiveOnlyBroker } from "./support/live-only-broker.js";
import { waitFor, within } from "./support/wait.js";

/** Data of every shape a topic message carries, with the event names and ids around it. */
const CASES: { data: unknown; event?: string }[] = [
  { data: "plain" },
  { data: "two\nlines\r\nand\rthree", event: "lines" },
  { data: "" },
  { data: "Zoë 漢字 😀 \u2028 \u2029 \u0085 \ufeff" },
  { data: "nul \0 and controls \u0001\u001f" },
  { data: "lone surrogate \ud800 here" },
  { data: 'quotes " and \\ backslashes' },
  { data: { nested: { list: [1, "a\nb", null, true, { deep: [] }] }, "10": "integer key" } },
  { data: [] },
  { data: {} },
  { data: 0 },
  { data: -1.5e-7 },
  { data: 1e21 },
  { data: null },
  { data: false },
  { data: "event: evil\nid: 666\n\ndata: injected", event: "quoted" },
  { data: { ok: 1 }, event: "update" },
  { data: { ok: 1 }, event: "" },
];

/** The frame SseEvent's normal encoding gives: what a topic message was sent as before. */
function normalFrame(id: string, event: string | undefined, data: unknown): string {
  return new SseEvent({ id, event, data }).frame;
}

function topicMessage(id: string, event: string | undefined, json: string): TopicMessage {
  return new TopicMessage({ topic: "t", id, event, json });
}

/** Reads a raw response body until it holds `length` characters (or the stream ends). */
async function readText(response: Response, length: number): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (text.length < length) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

async function openFeed(app: App, signal: AbortSignal): Promise<Response> {
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  const response = await fetch(`${url}/feed`, { signal });
  assert.equal(response.status, 200);
  return response;
}

describe("a topic message's SSE encoding", () => {
  test("is byte for byte what SseEvent's normal encoding of its data gives", () => {
    for (const [index, { data, event }] of CASES.entries()) {
      const id = `1-${index}`;
      const message = topicMessage(id, event, JSON.stringify(data));
      const expected = normalFrame(id, event, data);
      assert.equal(message.sseEvent.frame, expected, JSON.stringify(data));
      assert.deepEqual(message.sseEvent.bytes, Buffer.from(expected, "utf8"));
    }
  });

  test("what a handler iterating the topic sees is unchanged: id, event and the parsed data", () => {
    const data = { list: [1, "a\nb"], text: "\u2028" };
    const message = topicMessage("1-1", "update", JSON.stringify(data));
    const event = message.sseEvent;
    assert.ok(event instanceof SseEvent);
    assert.deepEqual(
      { id: event.id, event: event.event, data: event.data, retry: event.retry },
      { id: "1-1", event: "update", data, retry: undefined },
    );
    assert.equal(event.data, message.data, "one parsed value, shared");
    assert.equal(message.sseEvent, event, "built once, then shared by every subscriber");
  });

  test("fanning a message out to many subscribers parses it once and never stringifies it", (t: TestContext) => {
    const message = topicMessage("1-1", "update", JSON.stringify({ tick: 1, text: "hi" }));
    const parse = t.mock.method(JSON, "parse");
    const stringify = t.mock.method(JSON, "stringify");
    let bytes = 0;
    for (let subscriber = 0; subscriber < 1000; subscriber++)
      bytes += message.sseEvent.bytes.length;
    const calls = { parse: parse.mock.callCount(), stringify: stringify.mock.callCount() };
    t.mock.restoreAll();
    // Before issue 18 the message was parsed once and stringified again once.
    assert.deepEqual(calls, { parse: 1, stringify: 0 });
    assert.equal(bytes, 1000 * message.sseEvent.bytes.length);
  });

  test("JSON text another process wrote goes out as written (it used to be compacted): a client parses the same data", () => {
    const text = '{ "a" : 1.0, "b" : "\\u0041" }';
    const frame = topicMessage("1-1", undefined, text).sseEvent.frame;
    assert.equal(frame, `id: 1-1\ndata: ${text}\n\n`);
    const [received] = new SseParser().push(frame);
    assert.deepEqual(JSON.parse(received?.data ?? ""), { a: 1, b: "A" });
  });

  test("a message whose text is not JSON still fails when its event is made", () => {
    assert.throws(() => topicMessage("1-1", undefined, "{not json").sseEvent, SyntaxError);
  });

  test("JSON text with a raw line break cannot inject a field: every line stays data", () => {
    const text = "text\nid: 666\n\nevent: evil\r\ndata: injected\rretry: 1";
    const event = sseEventOfJson({ id: "1-1" }, { any: "value" }, text);
    const received = new SseParser().push(event.frame);
    assert.equal(received.length, 1);
    assert.deepEqual(
      { id: received[0]?.id, event: received[0]?.event, data: received[0]?.data },
      { id: "1-1", event: "message", data: text.split(/\r\n|\r|\n/).join("\n") },
    );
    assert.deepEqual(event.data, { any: "value" });
  });

  test("an id or event name a broker hands back with a line break is refused, as before", () => {
    assert.throws(() => topicMessage("1\nretry: 1", undefined, "1").sseEvent, TypeError);
    assert.throws(() => topicMessage("1-1", "x\nid: 2", "1").sseEvent, TypeError);
  });
});

describe("a topic message's SSE encoding, as a client receives it", () => {
  test("the bytes on the wire are those of SseEvent's normal encoding, for every kind of data", async () => {
    const app = quietApp();
    app.sse("/feed", { keepAlive: 0 }, (req) => app.subscribe("t", { signal: req.signal }));
    const abort = new AbortController();
    try {
      const response = await openFeed(app, abort.signal);
      await waitFor(() => app.topicSubscribers === 1, "the subscriber");
      let expected = "";
      // publish() refuses an empty event name; a broker's message may still carry one.
      for (const { data, event } of CASES.filter((each) => each.event !== "")) {
        const id = await app.publish("t", data, event === undefined ? {} : { event });
        expected += normalFrame(id, event, data);
      }
      // As UTF-8 on the wire (a lone surrogate in a string becomes U+FFFD, as it always did).
      const wire = Buffer.from(expected, "utf8").toString("utf8");
      const received = await within(readText(response, wire.length), "every event");
      assert.equal(received, wire);
    } finally {
      abort.abort();
      await app.close();
    }
  });

  test("a broker handing back JSON with raw line breaks: one event each, its data that JSON", async () => {
    const broker = new HandBroker();
    const app = quietApp({ broker });
    app.sse("/feed", { keepAlive: 0 }, (req) => app.subscribe("t", { signal: req.signal }));
    const abort = new AbortController();
    try {
      const response = await openFeed(app, abort.signal);
      await waitFor(() => app.topicSubscribers === 1, "the subscriber");
      // Valid JSON whose whitespace holds a blank line (it would end the event early) and CRs.
      const texts = ['{"a":1,\n\n"id":2}', "[1,\r\n2]\r"];
      for (const text of texts) broker.deliver("t", text);
      const parser = new SseParser();
      const events = parser.push(await within(readText(response, 60), "both events"));
      assert.deepEqual(
        events.map((event) => [event.id, event.event, JSON.parse(event.data)]),
        [
          ["1-1", "message", { a: 1, id: 2 }],
          ["1-2", "message", [1, 2]],
        ],
      );
    } finally {
      abort.abort();
      await app.close();
    }
  });
});

/** A broker whose messages are whatever text a test hands it, as another process might write. */
class HandBroker extends LiveOnlyBroker {
  deliver(topic: string, json: string): void {
    const message = this.nextMessage(topic, undefined, json);
    for (const deliver of this.subscribersOf(topic)) deliver(message);
  }
}
