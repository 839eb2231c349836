/*
 * Where a real-time SSE stream starts and how it keeps its place: the opening id-only block,
 * a resume far behind (replayed messages do not count against the 1 000 queued), the frames
 * shared by every subscriber, stored text that is not JSON, and a position too long to be a
 * Last-Event-ID.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, memoryBroker } from "../src/index.js";
import { SseParser } from "../src/sse/sse-parser.js";
import { TopicMessage } from "../src/topics/topic-message.js";
import { LiveOnlyBroker } from "./support/live-only-broker.js";
import { capturedLogger } from "./support/logging.js";

/** The SSE stream of `url`, read chunk by chunk through the repo's spec-following parser. */
class Stream {
  readonly parser = new SseParser();
  readonly events: ReturnType<SseParser["push"]> = [];
  text = "";
  #ended = false;

  private constructor(
    readonly response: Response,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {}

  static async open(url: string, lastEventId?: string): Promise<Stream> {
    const headers: Record<string, string> = {};
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    const response = await fetch(url, { headers });
    assert.equal(response.status, 200, await (response.status === 200 ? "" : response.text()));
    return new Stream(response, (response.body as ReadableStream<Uint8Array>).getReader());
  }

  /** Reads until `done` says so; false if the stream ended first. */
  async readUntil(done: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    const decoder = new TextDecoder();
    while (!done()) {
      if (this.#ended) return false;
      if (Date.now() > deadline)
        throw new Error(`timed out; read so far: ${this.text.slice(0, 300)}`);
      const { value, done: ended } = await this.reader.read();
      if (ended) {
        this.#ended = true;
        continue;
      }
      this.text += decoder.decode(value, { stream: true });
      this.events.push(...this.parser.push(value));
    }
    return true;
  }

  get ended(): boolean {
    return this.#ended;
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

async function listening(app: App): Promise<string> {
  return `${(await app.listen({ port: 0, host: "127.0.0.1" })).url}/rt`;
}

describe("app.realtime SSE positions", () => {
  test("the stream opens with its starting position as an id-only block: a drop before any event resumes from there", async () => {
    const app = new App({ logger: false, broker: memoryBroker() });
    app.realtime("/rt", { subscribe: ["a", "b"], sse: { retry: 100 } });
    const url = await listening(app);
    try {
      await app.publish("a", "old");
      for (const query of ["?topic=a&topic=b", "?topic=a"]) {
        const first = await Stream.open(`${url}${query}`);
        await first.readUntil(() => first.parser.lastEventId !== "");
        // retry (sse.retry), the protocol comment, then the position: no event dispatched.
        assert.match(first.text, /^retry: 100\n\n: sluice\.v1\n\nid: [^\n]+\n\n$/);
        assert.equal(first.events.length, 0);
        const position = first.parser.lastEventId;
        await first.cancel();

        // Published while the client reconnects: it must not be lost.
        await app.publish("a", `gap ${query}`);
        const second = await Stream.open(`${url}${query}`, position);
        await second.readUntil(() => second.events.length > 0);
        const [event] = second.events;
        assert.equal(JSON.parse(event?.data ?? "").data, `gap ${query}`);
        await second.cancel();
      }
    } finally {
      await app.close();
    }
  });

  test("a resume 1 500 messages behind is sent in full, then live messages follow: replayed ones do not count against the 1 000 queued", async () => {
    const app = new App({ logger: false, broker: memoryBroker({ history: 5000 }) });
    app.realtime("/rt", { subscribe: ["a", "b"] });
    const url = await listening(app);
    try {
      const first = await app.publish("a", 0);
      for (let i = 1; i <= 1500; i++) await app.publish("a", i);
      for (const query of ["?topic=a", "?topic=a&topic=b"]) {
        const since = query === "?topic=a" ? first : `${encodeURIComponent(first)},`;
        const stream = await Stream.open(`${url}${query}`, since);
        assert.ok(await stream.readUntil(() => stream.events.length >= 1500), "cut off");
        await app.publish("a", "live");
        assert.ok(await stream.readUntil(() => stream.events.length >= 1501), "cut off");
        const data = stream.events.map((event) => JSON.parse(event.data).data);
        assert.deepEqual(data, [...Array.from({ length: 1500 }, (_, i) => i + 1), "live"]);
        assert.equal(stream.ended, false);
        await stream.cancel();
        await app.publish("b", "keep b's log non-empty");
      }
    } finally {
      await app.close();
    }
  });

  test("several topics: each event is its id line then the bytes every stream shares; positions stay exact", async () => {
    const app = new App({ logger: false, broker: memoryBroker() });
    app.realtime("/rt", { subscribe: ["a", "b", "c"] });
    const url = await listening(app);
    try {
      const streams = await Promise.all([
        Stream.open(`${url}?topic=a&topic=b&topic=c`),
        Stream.open(`${url}?topic=c&topic=a`),
      ]);
      await Promise.all(streams.map((s) => s.readUntil(() => s.parser.lastEventId !== "")));
      const [abc, ca] = streams as [Stream, Stream];
      const [, b0, c0] = abc.parser.lastEventId.split(",");
      const ids = [await app.publish("a", 1), await app.publish("c", 2), await app.publish("a", 3)];
      await Promise.all(streams.map((s) => s.readUntil(() => s.events.length >= 3)));
      const [a1, c2, a3] = ids.map(encodeURIComponent) as [string, string, string];
      assert.deepEqual(
        abc.events.map((event) => event.id),
        [`${a1},${b0},${c0}`, `${a1},${b0},${c2}`, `${a3},${b0},${c2}`],
      );
      assert.deepEqual(
        ca.events.map((event) => event.id),
        [`${c0},${a1}`, `${c2},${a1}`, `${c2},${a3}`],
      );
      // The event and data lines are the same in both streams.
      const bodies = (s: Stream) =>
        s.text
          .split("\n\n")
          .slice(2, 5)
          .map((b) => b.split("\n").slice(1));
      assert.deepEqual(bodies(abc), bodies(ca));
      await Promise.all(streams.map((s) => s.cancel()));
    } finally {
      await app.close();
    }
  });

  test("a message's SSE bytes are built once and shared", () => {
    const message = new TopicMessage({ topic: "t", id: "1-1", event: undefined, json: '{"x":1}' });
    assert.equal(message.realtimeSseBody, message.realtimeSseBody);
    assert.equal(message.realtimeSseFrame, message.realtimeSseFrame);
    assert.equal(
      message.realtimeSseFrame.toString(),
      'id: 1-1\nevent: message\ndata: {"topic":"t","id":"1-1","event":"message","data":{"x":1}}\n\n',
    );
    // JSON whitespace with a raw line break would end the data line: written on one line.
    const spread = new TopicMessage({ topic: "t", id: "1-2", event: "e", json: '{"x":\n1}' });
    assert.equal(
      spread.realtimeSseBody.toString(),
      'event: e\ndata: {"topic":"t","id":"1-2","event":"e","data":{"x":1}}\n\n',
    );
    const bad = new TopicMessage({ topic: "t", id: "1-3", event: undefined, json: "1,2" });
    assert.throws(() => bad.realtimeSseBody, SyntaxError);
    assert.throws(() => bad.realtimeFrame, SyntaxError);
  });

  test("stored text that is not JSON is dropped from the stream (logged); the rest goes on", async () => {
    const { logger, lines } = capturedLogger("warn");
    const broker = new LiveOnlyBroker();
    const app = new App({ logger, broker });
    app.realtime("/rt", { subscribe: ["t"] });
    const url = await listening(app);
    try {
      const stream = await Stream.open(`${url}?topic=t`);
      await stream.readUntil(() => stream.parser.lastEventId !== "");
      await broker.publish("t", undefined, '1\nid: forged\ndata: "x"');
      await broker.publish("t", undefined, '{"ok":\n true}');
      await stream.readUntil(() => stream.events.length > 0);
      assert.deepEqual(
        stream.events.map((event) => JSON.parse(event.data).data),
        [{ ok: true }],
      );
      assert.ok(!stream.text.includes("forged"));
      assert.ok(lines.some((line) => /not JSON; dropped/.test(line.msg)));
      await stream.cancel();
    } finally {
      await app.close();
    }
  });

  test("a starting position longer than a Last-Event-ID may be is refused up front with 400", async () => {
    /** A broker whose ids are long: 32 of them do not fit in 1 024 bytes. */
    class LongIdBroker extends LiveOnlyBroker {
      async head(): Promise<string> {
        return `1-${"0".repeat(40)}`;
      }
    }
    const app = new App({ logger: false, broker: new LongIdBroker() });
    app.realtime("/rt", { subscribe: ["t:*"] });
    const url = await listening(app);
    try {
      const many = Array.from({ length: 32 }, (_, i) => `topic=t:${i}`).join("&");
      const refused = await fetch(`${url}?${many}`);
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /over the 1024 a Last-Event-ID may have/);
      assert.equal(app.topicSubscribers, 0);
      // A few of them fit.
      const few = await Stream.open(`${url}?topic=t:1&topic=t:2`);
      await few.readUntil(() => few.parser.lastEventId !== "");
      await few.cancel();
    } finally {
      await app.close();
    }
  });
});
