// Server-Sent Events as a real outside client sees them: the `eventsource` package (a WHATWG
// EventSource for Node, built on fetch) against app.sse() routes over 127.0.0.1.
//
// Facts about eventsource v4 the assertions rely on (read in node_modules/eventsource):
// - an `event: error` from the server is dispatched as a MessageEvent named "error", so
//   addEventListener("error") sees it next to the package's own ErrorEvent (connection
//   failures, with `code` and `message`); `onerror` only gets the latter.
// - MessageEvent.lastEventId is the id of that event's own block ("" when it set none), not
//   the persistent last event id the spec describes; the persistent one is what it sends back
//   as Last-Event-ID, so that is what the reconnection tests look at, on the server.
// - a clean end of the body schedules a reconnect (ErrorEvent without message, readyState
//   CONNECTING); a non-200 answer (204 included) fails the connection (readyState CLOSED).
import assert from "node:assert/strict";
import { EventEmitter, on } from "node:events";
import { describe, test } from "node:test";
import {
  EventSource,
  ErrorEvent as EventSourceErrorEvent,
  type EventSourceFetchInit,
  type FetchLikeResponse,
} from "eventsource";
import {
  App,
  HttpError,
  HttpResponse,
  type SluiceRequest,
  SseEvent,
  type SseHandler,
} from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { sleep, waitFor } from "./support/wait.js";

/** One EventSource connection, seen through a tee of its response body. */
interface Connection {
  /** The request headers the EventSource sent (Accept, Last-Event-ID, ours). */
  sent: Record<string, string>;
  status: number;
  headers: Headers;
  /** The body as received so far, decoded. */
  wire: string;
  /** "clean" once the body ended properly, "cut: <reason>" if it failed or was aborted. */
  ended: string | undefined;
}

interface Received {
  type: string;
  data: string;
  lastEventId: string;
  origin: string;
}

/**
 * An EventSource with everything it does recorded: the events of the given types (and any
 * `event: error` the server sends), its connection failures, its opens, and each
 * connection's request headers, response head and raw body.
 */
class Subscriber implements Disposable {
  readonly es: EventSource;
  readonly received: Received[] = [];
  readonly failures: EventSourceErrorEvent[] = [];
  /** readyState when each failure was dispatched. */
  readonly stateAtFailure: number[] = [];
  /** performance.now() of each `open`. */
  readonly opens: number[] = [];
  readonly connections: Connection[] = [];
  /** "open", "<type>:<data>" and "failure(<code>)" in the order they happened. */
  readonly timeline: string[] = [];

  constructor(url: string, options: { types?: string[]; headers?: Record<string, string> } = {}) {
    this.es = new EventSource(url, {
      fetch: (input, init) => this.tappedFetch(input, init, options.headers),
    });
    this.es.addEventListener("open", () => {
      this.opens.push(performance.now());
      this.timeline.push("open");
    });
    this.es.addEventListener("error", (event: Event) => {
      if (event instanceof MessageEvent) {
        this.record(event);
        return;
      }
      if (!(event instanceof EventSourceErrorEvent)) {
        this.timeline.push(`unexpected ${event.constructor.name} "error"`);
        return;
      }
      this.failures.push(event);
      this.stateAtFailure.push(this.es.readyState);
      this.timeline.push(`failure(${event.code ?? ""})`);
    });
    for (const type of options.types ?? ["message"]) {
      if (type !== "error") this.es.addEventListener(type, (event) => this.record(event));
    }
  }

  /** The data of the events received, in order. */
  get data(): string[] {
    return this.received.map((event) => event.data);
  }

  /** Resolves once `check()` holds; on timeout the error shows what the client saw. */
  async until(check: () => boolean, what: string, timeout = 2000): Promise<void> {
    try {
      await waitFor(check, what, timeout);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; timeline: ${JSON.stringify(this.timeline).slice(0, 2000)}`,
      );
    }
  }

  waitForEvents(count: number, timeout = 2000): Promise<void> {
    return this.until(() => this.received.length >= count, `${count} events`, timeout);
  }

  close(): void {
    this.es.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private record(event: MessageEvent): void {
    const data = String(event.data);
    this.received.push({
      type: event.type,
      data,
      lastEventId: event.lastEventId,
      origin: event.origin,
    });
    this.timeline.push(`${event.type}:${data.length > 100 ? `${data.slice(0, 100)}…` : data}`);
  }

  private async tappedFetch(
    input: string | URL,
    init: EventSourceFetchInit,
    extraHeaders: Record<string, string> | undefined,
  ): Promise<FetchLikeResponse> {
    const sent = { ...init.headers, ...extraHeaders };
    const response = await fetch(input, { ...init, headers: sent });
    const connection: Connection = {
      sent,
      status: response.status,
      headers: response.headers,
      wire: "",
      ended: undefined,
    };
    this.connections.push(connection);
    if (!response.body) return response;
    const [forEventSource, forTap] = response.body.tee();
    void readInto(connection, forTap);
    return {
      body: forEventSource,
      url: response.url,
      status: response.status,
      redirected: response.redirected,
      headers: response.headers,
    };
  }
}

async function readInto(connection: Connection, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      connection.wire += decoder.decode(value, { stream: true });
    }
    connection.ended = "clean";
  } catch (error) {
    connection.ended = `cut: ${(error as Error).message}`;
  }
}

/** Resolves when the signal aborts (a producer with nothing more to send waits here). */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * The handler from the issue: resumes counting from Last-Event-ID, yields an `update` event
 * and a plain object per tick, and stops when the client leaves.
 */
function tickHandler(
  onFinally: (req: SluiceRequest) => void | Promise<void>,
  { periodMs = 1000, retry = 3000 } = {},
): SseHandler {
  return async function* (req) {
    let id = Number(req.lastEventId ?? 0);
    try {
      while (!req.signal.aborted) {
        yield new SseEvent({ data: { tick: ++id }, id: String(id), event: "update", retry });
        yield { plain: "object" };
        await sleep(periodMs, undefined, { signal: req.signal });
      }
    } finally {
      await onFinally(req);
    }
  };
}

describe("SSE with EventSource: connecting", () => {
  test("open fires at the response head, before an event produced 300 ms later; readyState CONNECTING, OPEN, CLOSED", async () => {
    let produced = 0;
    let finallyRan = false;
    const app = quietApp();
    app.sse("/events", async function* (req) {
      try {
        await sleep(300, undefined, { signal: req.signal });
        produced++;
        yield new SseEvent({ data: "first", id: "1" });
        await untilAborted(req.signal);
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`);
    assert.equal(sub.es.readyState, EventSource.CONNECTING);
    const atOpen: { readyState: number; produced: number }[] = [];
    sub.es.addEventListener("open", () => atOpen.push({ readyState: sub.es.readyState, produced }));

    await sub.until(() => sub.opens.length === 1, "open");
    // The producer is still in its 300 ms wait: the head went out before any event existed.
    assert.deepEqual(atOpen, [{ readyState: EventSource.OPEN, produced: 0 }]);
    await sub.waitForEvents(1);
    assert.deepEqual(sub.timeline, ["open", "message:first"]);
    assert.equal(sub.es.readyState, EventSource.OPEN);

    const [connection] = sub.connections;
    assert.equal(connection!.status, 200);
    assert.equal(connection!.sent.Accept, "text/event-stream");
    assert.equal(connection!.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(connection!.headers.get("cache-control"), "no-cache");
    assert.equal(connection!.headers.get("x-accel-buffering"), "no");
    assert.equal(connection!.headers.get("connection"), "keep-alive");
    assert.match(connection!.headers.get("x-request-id") ?? "", /\S/);

    sub.close();
    assert.equal(sub.es.readyState, EventSource.CLOSED);
    await waitFor(() => finallyRan, "the producer's finally");
    assert.equal(sub.failures.length, 0, "close() fires no error");
  });

  test("the issue's tick handler: update events with ids and plain objects as messages, in order", async () => {
    const finallies: string[] = [];
    const app = quietApp();
    app.sse(
      "/events",
      tickHandler((req) => void finallies.push(req.id), { periodMs: 20 }),
    );
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["message", "update"] });
    const onmessage: string[] = [];
    sub.es.onmessage = (event) => void onmessage.push(String(event.data));

    await sub.waitForEvents(6);
    assert.deepEqual(
      sub.received.slice(0, 6).map(({ type, data }) => [type, JSON.parse(data)]),
      [
        ["update", { tick: 1 }],
        ["message", { plain: "object" }],
        ["update", { tick: 2 }],
        ["message", { plain: "object" }],
        ["update", { tick: 3 }],
        ["message", { plain: "object" }],
      ],
    );
    const updates = sub.received.filter((event) => event.type === "update");
    assert.deepEqual(
      updates.slice(0, 3).map((event) => event.lastEventId),
      ["1", "2", "3"],
    );
    assert.equal(sub.received[0]!.origin, new URL(client.url).origin);
    assert.ok(onmessage.length >= 3, "onmessage gets the data-only events");
    assert.ok(
      onmessage.every((data) => data === '{"plain":"object"}'),
      "onmessage gets no named events",
    );
    assert.match(
      sub.connections[0]!.wire,
      /^event: update\nid: 1\nretry: 3000\ndata: {"tick":1}\n\n/,
    );
    sub.close();
    await waitFor(() => finallies.length === 1, "the producer's finally", 1000);
  });

  test("a producer held before its first event: open still fires, and the event follows the moment it is produced", async () => {
    const release = gate();
    const app = quietApp();
    app.sse("/events", async function* (req) {
      await Promise.race([release.opened, untilAborted(req.signal)]);
      yield new SseEvent({ event: "ready", data: "released" });
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["ready"] });
    await sub.until(() => sub.opens.length === 1, "open while the producer is held");
    await sleep(50);
    assert.equal(sub.received.length, 0);
    release.open();
    await sub.waitForEvents(1, 500);
    assert.deepEqual(sub.timeline, ["open", "ready:released"]);
  });
});

describe("SSE with EventSource: what arrives", () => {
  test("ids, custom event names, JSON and plain values arrive as MessageEvents", async () => {
    const app = quietApp();
    app.sse("/events", async function* (req) {
      yield new SseEvent({ data: { tick: 1, tags: ["a", "b"] }, id: "1", event: "update" });
      yield { plain: "object" };
      yield "a plain string";
      yield 42;
      yield null;
      yield [1, "two", { three: 3 }];
      yield new SseEvent({ data: "named message", event: "message", id: "m-2" });
      yield new SseEvent({ data: "ns event", event: "orders:created.v1", id: "7f3c-uuid" });
      yield new SseEvent({ data: "  two leading spaces", event: " spaced", id: " spaced id" });
      yield new SseEvent({ data: "after a comment", comment: "not an event" });
      yield new SseEvent({ comment: "a lone comment dispatches nothing" });
      yield new SseEvent({ id: "99", event: "update" }); // no data: nothing is dispatched
      yield new SseEvent({ data: "last" });
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, {
      types: ["message", "update", "orders:created.v1", " spaced"],
    });
    await sub.waitForEvents(11);
    await sleep(50); // nothing else may arrive
    assert.deepEqual(
      sub.received.map(({ type, data }) => [type, data]),
      [
        ["update", '{"tick":1,"tags":["a","b"]}'],
        ["message", '{"plain":"object"}'],
        ["message", "a plain string"],
        ["message", "42"],
        ["message", "null"],
        ["message", '[1,"two",{"three":3}]'],
        ["message", "named message"],
        ["orders:created.v1", "ns event"],
        [" spaced", "  two leading spaces"],
        ["message", "after a comment"],
        ["message", "last"],
      ],
    );
    const ids = Object.fromEntries(sub.received.map((event) => [event.data, event.lastEventId]));
    assert.equal(ids['{"tick":1,"tags":["a","b"]}'], "1");
    assert.equal(ids["named message"], "m-2");
    assert.equal(ids["ns event"], "7f3c-uuid");
    assert.equal(ids["  two leading spaces"], " spaced id");
    assert.deepEqual(JSON.parse(sub.received[0]!.data), { tick: 1, tags: ["a", "b"] });
  });

  test("unicode (emoji, CJK, U+2028, BOM, NUL) and 100 KB payloads arrive intact", async () => {
    const unicode =
      "héllo — 你好，世界 — こんにちは — 🎉👩‍👩‍👧‍👦 — a\u2028b\u2029c — \uFEFFbom — nul\0byte";
    // Multi-byte characters throughout, so TCP and chunk boundaries fall inside them.
    const big = "0123456789 ñ 中文 🎉 ".repeat(4000); // > 100 KB in UTF-8
    const bigJson = {
      rows: Array.from({ length: 1500 }, (_, i) => ({ i, name: `row ${i} 🚀 行` })),
    };
    const bigLines = Array.from({ length: 3000 }, (_, i) => `line ${i} ✓`).join("\n");
    assert.ok(Buffer.byteLength(big) > 100 * 1024);
    assert.ok(Buffer.byteLength(JSON.stringify(bigJson)) > 50 * 1024);
    const app = quietApp();
    app.sse("/events", async function* (req) {
      yield unicode;
      yield new SseEvent({ data: { text: unicode }, event: "json", id: "ü-1" });
      yield big;
      yield bigJson;
      yield bigLines;
      yield "after the big ones";
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["message", "json"] });
    await sub.waitForEvents(6, 5000);
    const [plain, json, bigEvent, bigJsonEvent, bigLinesEvent, last] = sub.received;
    assert.equal(plain!.data, unicode);
    assert.deepEqual(JSON.parse(json!.data), { text: unicode });
    assert.equal(json!.lastEventId, "ü-1");
    assert.equal(bigEvent!.data.length, big.length);
    assert.equal(bigEvent!.data, big);
    assert.deepEqual(JSON.parse(bigJsonEvent!.data), bigJson);
    assert.equal(bigLinesEvent!.data, bigLines);
    assert.equal(last!.data, "after the big ones");
  });

  test("data with every kind of newline reaches EventSource joined with \\n", async () => {
    // [what the handler sends, what the spec says the client gets]
    const cases: [string, string][] = [
      ["a\nb", "a\nb"],
      ["a\r\nb", "a\nb"],
      ["a\rb", "a\nb"],
      ["one\ntwo\r\nthree\rfour", "one\ntwo\nthree\nfour"],
      ["\nleading", "\nleading"],
      ["trailing\n", "trailing\n"],
      ["trailing crlf\r\n", "trailing crlf\n"],
      ["\r\nboth\r", "\nboth\n"],
      ["empty\n\nline inside", "empty\n\nline inside"],
      ["empty\r\n\r\nlines\r\rinside", "empty\n\nlines\n\ninside"],
      ["lf then cr\n\rx", "lf then cr\n\nx"], // two line breaks, not one
      ["cr cr lf\r\r\nx", "cr cr lf\n\nx"],
      ["", ""],
      ["\n", "\n"],
      ["\r\n", "\n"],
      ["\r", "\n"],
      ["\n\n\n", "\n\n\n"],
      ["  indented\n  lines ", "  indented\n  lines "],
      ["data: not a field\nid: 5\nevent: x", "data: not a field\nid: 5\nevent: x"],
    ];
    const app = quietApp();
    app.sse("/events", async function* (req) {
      for (const [sent] of cases) yield sent;
      // The same texts inside SseEvents with a name and an id.
      for (const [index, [sent]] of cases.entries()) {
        yield new SseEvent({ data: sent, event: "case", id: String(index) });
      }
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["message", "case", "x"] });
    await sub.waitForEvents(cases.length * 2);
    await sleep(50);
    const expected = cases.map(([, received]) => received);
    const plain = sub.received.filter((event) => event.type === "message");
    const named = sub.received.filter((event) => event.type === "case");
    assert.deepEqual(
      plain.map((event) => event.data),
      expected,
    );
    assert.deepEqual(
      named.map((event) => event.data),
      expected,
    );
    assert.deepEqual(
      named.map((event) => event.lastEventId),
      cases.map((_, index) => String(index)),
    );
    assert.equal(sub.received.length, cases.length * 2, "no other event (no `x` event, no id 5)");
    // On the wire every line is a field sluice wrote: a newline never starts another field.
    for (const line of sub.connections[0]!.wire.split("\n")) {
      assert.match(line, /^(|data: .*|event: case|id: \d+)$/, `unexpected line ${line}`);
    }
  });

  test("field injection throws a TypeError at construction and nothing of it is written", async () => {
    const attempts: [string, () => unknown][] = [
      ["event with LF", () => new SseEvent({ event: "x\ndata: injected", data: "d" })],
      ["event with CR", () => new SseEvent({ event: "x\rdata: injected", data: "d" })],
      ["event with CRLF", () => new SseEvent({ event: "x\r\n\r\ndata: injected" })],
      ["id with LF", () => new SseEvent({ id: "1\ndata: injected", data: "d" })],
      ["id with CR", () => new SseEvent({ id: "1\revent: x", data: "d" })],
      ["id with NUL", () => new SseEvent({ id: "1\0", data: "d" })],
      ["id of another type", () => new SseEvent({ id: {} as unknown as string, data: "d" })],
      ["id NaN", () => new SseEvent({ id: Number.NaN, data: "d" })],
      ["retry negative", () => new SseEvent({ retry: -1, data: "d" })],
      ["retry fractional", () => new SseEvent({ retry: 1.5, data: "d" })],
      ["retry NaN", () => new SseEvent({ retry: Number.NaN, data: "d" })],
      ["retry Infinity", () => new SseEvent({ retry: Number.POSITIVE_INFINITY, data: "d" })],
      ["retry string", () => new SseEvent({ retry: "1\ndata: x" as unknown as number })],
      ["nothing at all", () => new SseEvent({})],
      ["data that is not JSON", () => new SseEvent({ data: 10n })],
    ];
    const outcomes: string[] = [];
    const app = quietApp();
    app.sse("/events", async function* (req) {
      yield new SseEvent({ id: "1", data: "before" });
      for (const [name, attempt] of attempts) {
        try {
          attempt();
          outcomes.push(`${name}: constructed`);
        } catch (error) {
          outcomes.push(`${name}: ${error instanceof TypeError ? "TypeError" : String(error)}`);
        }
      }
      yield new SseEvent({ id: "2", data: "after" });
      // Attempts through fields that are allowed to hold newlines stay inside them.
      yield "sneaky\n\nevent: x\nid: 666\nretry: 1\ndata: injected";
      yield new SseEvent({ comment: "note\ndata: injected\n\nevent: x", data: "with a comment" });
      yield new SseEvent({ id: "3", data: "end" });
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, {
      types: ["message", "x", "injected"],
    });
    await sub.waitForEvents(5);
    await sleep(50);
    assert.deepEqual(
      outcomes,
      attempts.map(([name]) => `${name}: TypeError`),
    );
    assert.deepEqual(sub.data, [
      "before",
      "after",
      "sneaky\n\nevent: x\nid: 666\nretry: 1\ndata: injected",
      "with a comment",
      "end",
    ]);
    assert.ok(
      sub.received.every((event) => event.type === "message" && event.lastEventId !== "666"),
    );
    assert.equal(sub.opens.length, 1, "no reconnect (a `retry: 1` injected would not matter)");
    const wire = sub.connections[0]!.wire;
    for (const injected of [/^event: ?x/m, /^id: ?666/m, /^retry: ?1$/m, /^data: ?injected/m]) {
      assert.doesNotMatch(wire, injected);
    }
  });

  test("bad route options are refused when the route is added", () => {
    const app = quietApp();
    const handler: SseHandler = () => [];
    assert.throws(() => app.sse("/a", { retry: -1 }, handler), TypeError);
    assert.throws(() => app.sse("/b", { retry: 1.5 }, handler), TypeError);
    assert.throws(() => app.sse("/c", { keepAlive: -5 }, handler), TypeError);
    assert.throws(() => app.sse("/d", { keepAlive: Number.NaN }, handler), TypeError);
    assert.throws(
      () => app.sse("/e", { errorEvent: "yes" as unknown as boolean }, handler),
      TypeError,
    );
  });
});

describe("SSE with EventSource: reconnection", () => {
  test("resume from Last-Event-ID: the server ends the stream, then the producer throws; no event lost or repeated", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    const log = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, text: `message ${i + 1}` }));
    const lastIdsSeen: (string | undefined)[] = [];
    const startedAt: number[] = [];
    const endedAt: number[] = [];
    app.sse("/chat", { retry: 50 }, async function* (req) {
      const connection = lastIdsSeen.push(req.lastEventId);
      startedAt.push(performance.now());
      const after = Number(req.lastEventId ?? 0);
      try {
        for (const [sent, entry] of log.filter((e) => e.id > after).entries()) {
          if (connection === 1 && sent === 3) return; // a deploy, a load balancer timeout
          if (connection === 2 && sent === 3) throw new Error("db down");
          yield new SseEvent({ id: entry.id, event: "chat", data: entry });
        }
        await untilAborted(req.signal);
      } finally {
        endedAt.push(performance.now());
      }
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/chat`, { types: ["chat"] });
    await sub.waitForEvents(10, 3000);
    await sleep(50);

    assert.deepEqual(
      sub.received.map((event) => JSON.parse(event.data)),
      log,
    );
    assert.deepEqual(
      sub.received.map((event) => event.lastEventId),
      log.map((entry) => String(entry.id)),
    );
    assert.deepEqual(lastIdsSeen, [undefined, "3", "6"]);
    assert.deepEqual(
      sub.connections.map((connection) => connection.sent["Last-Event-ID"]),
      [undefined, "3", "6"],
    );
    assert.deepEqual(
      sub.connections.slice(0, 2).map((connection) => connection.ended),
      ["clean", "clean"],
      "a producer that ends or fails ends the SSE stream cleanly",
    );
    assert.equal(sub.opens.length, 3);
    assert.deepEqual(sub.stateAtFailure, [EventSource.CONNECTING, EventSource.CONNECTING]);
    for (const gap of [startedAt[1]! - endedAt[0]!, startedAt[2]! - endedAt[1]!]) {
      assert.ok(gap >= 45, `reconnected ${gap} ms after the end, before retry: 50`);
    }

    const failedId = sub.connections[1]!.headers.get("x-request-id");
    const errors = errorLines(lines);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.reqId, failedId);
    assert.equal(errors[0]!.err?.message, "db down");
    assert.match(errors[0]!.msg, /stream producer failed; stream ended/);
  });

  test("EventSource waits the retry the route sets first, then the retry an event sets", async () => {
    const startedAt: number[] = [];
    const endedAt: number[] = [];
    const app = quietApp();
    app.sse("/events", { retry: 50 }, async function* (req) {
      const connection = startedAt.push(performance.now());
      try {
        if (connection === 1) {
          yield new SseEvent({ id: "1", data: "a" });
        } else if (connection === 2) {
          yield new SseEvent({ id: "2", data: "b", retry: 400 });
        } else {
          yield new SseEvent({ id: "3", data: "c" });
          await untilAborted(req.signal);
        }
      } finally {
        endedAt.push(performance.now());
      }
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`);
    await sub.waitForEvents(3, 4000);
    assert.deepEqual(sub.data, ["a", "b", "c"]);
    assert.ok(sub.connections[0]!.wire.startsWith("retry: 50\n\n"), sub.connections[0]!.wire);
    const afterPreamble = startedAt[1]! - endedAt[0]!;
    const afterEventRetry = startedAt[2]! - endedAt[1]!;
    assert.ok(
      afterPreamble >= 45 && afterPreamble < 2500,
      `reconnected ${afterPreamble} ms after the first end (retry: 50, default 3000)`,
    );
    assert.ok(
      afterEventRetry >= 395 && afterEventRetry < 2900,
      `reconnected ${afterEventRetry} ms after the second end (retry: 400)`,
    );
    // Every connection starts with the route's `retry: 50` again.
    assert.ok(sub.connections[2]!.wire.startsWith("retry: 50\n\n"));
  });

  test("an empty id resets the last event id: the next reconnect sends no Last-Event-ID", async () => {
    const lastIdsSeen: (string | undefined)[] = [];
    const app = quietApp();
    app.sse("/events", { retry: 50 }, async function* (req) {
      const connection = lastIdsSeen.push(req.lastEventId);
      if (connection === 1) {
        yield new SseEvent({ id: "orders:42/7 v=1", data: "first" });
      } else if (connection === 2) {
        yield new SseEvent({ id: "", data: "reset" });
      } else {
        yield new SseEvent({ data: "third" });
        await untilAborted(req.signal);
      }
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`);
    await sub.waitForEvents(3);
    assert.deepEqual(sub.data, ["first", "reset", "third"]);
    assert.deepEqual(lastIdsSeen, [undefined, "orders:42/7 v=1", undefined]);
    assert.equal("Last-Event-ID" in sub.connections[2]!.sent, false);
    assert.match(sub.connections[1]!.wire, /^retry: 50\n\nid\ndata: reset\n\n$/);
  });
});

describe("SSE with EventSource: the client leaving", () => {
  test("es.close() runs the finally within 1 s while the producer waits on req.signal; req.isDisconnected() is true there", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let finallyAt = 0;
    let disconnected: boolean | undefined;
    let aborted: boolean | undefined;
    app.sse(
      "/events",
      tickHandler(
        async (req) => {
          finallyAt = performance.now();
          aborted = req.signal.aborted;
          disconnected = await req.isDisconnected();
        },
        { periodMs: 1000 },
      ),
    );
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["message", "update"] });
    await sub.waitForEvents(2);
    await sleep(50); // the producer is now in its 1 s sleep
    const closedAt = performance.now();
    sub.close();
    await waitFor(() => disconnected !== undefined, "the producer's finally", 1000);
    assert.ok(finallyAt - closedAt < 1000, `finally ${finallyAt - closedAt} ms after close()`);
    assert.equal(aborted, true);
    assert.equal(disconnected, true);
    assert.equal(sub.failures.length, 0);
    await sleep(20);
    assert.deepEqual(errorLines(lines), [], "a client leaving is not an error");
  });

  test("es.close() while the producer awaits something that ignores the signal: finally runs once it settles, nothing more runs", async () => {
    let finallyAt = 0;
    let afterSecondYield = false;
    const app = quietApp();
    app.sse("/events", async function* () {
      try {
        yield "one";
        await sleep(300); // a database call that takes no signal
        yield "two";
        afterSecondYield = true;
        yield "three";
      } finally {
        finallyAt = performance.now();
      }
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`);
    await sub.waitForEvents(1);
    const closedAt = performance.now();
    sub.close();
    await waitFor(() => finallyAt > 0, "the producer's finally", 1000);
    assert.ok(finallyAt - closedAt < 1000, `finally ${finallyAt - closedAt} ms after close()`);
    assert.equal(afterSecondYield, false, "the generator is not resumed after the client left");
    assert.deepEqual(sub.data, ["one"]);
  });

  test("a broadcast reaches 20 EventSources once each; when they leave, every subscription is removed", async () => {
    const bus = new EventEmitter();
    bus.setMaxListeners(0); // one listener per subscriber
    let running = 0;
    const app = quietApp();
    app.sse("/rooms/:room", async function* (req) {
      running++;
      try {
        // Subscribed before anything is sent, so nothing published after `joined` is missed.
        const messages = on(bus, req.params.room!, { signal: req.signal });
        yield new SseEvent({ event: "joined", data: req.params.room });
        for await (const [event] of messages) yield event;
      } finally {
        running--;
      }
    });
    await using client = await TestClient.start(app);
    const subs = Array.from(
      { length: 20 },
      (_, i) =>
        new Subscriber(`${client.url}/rooms/${i < 15 ? "lobby" : "kitchen"}`, {
          types: ["joined", "chat"],
        }),
    );
    try {
      await waitFor(() => subs.every((sub) => sub.received.length === 1), "20 joins", 3000);
      assert.equal(bus.listenerCount("lobby"), 15);
      const hello = new SseEvent({ id: "1", event: "chat", data: { text: "hello 👋" } });
      bus.emit("lobby", hello); // one SseEvent, encoded once, sent to 15 clients
      bus.emit("kitchen", new SseEvent({ id: "k1", event: "chat", data: "soup" }));
      await waitFor(() => subs.every((sub) => sub.received.length === 2), "the broadcast");
      await sleep(50);
      for (const [i, sub] of subs.entries()) {
        const expected = i < 15 ? ["lobby", '{"text":"hello 👋"}'] : ["kitchen", "soup"];
        assert.deepEqual(sub.data, expected, `subscriber ${i}`);
      }
      assert.equal(running, 20);
    } finally {
      for (const sub of subs) sub.close();
    }
    await waitFor(() => running === 0, "every producer's finally", 1000);
    assert.equal(bus.listenerCount("lobby"), 0);
    assert.equal(bus.listenerCount("kitchen"), 0);
  });
});

describe("SSE with EventSource: refusing", () => {
  function authApp() {
    const calls = { middleware: 0, handler: 0 };
    const app = quietApp();
    app.use(async (req, next) => {
      calls.middleware++;
      req.setResponseHeader("access-control-allow-origin", "https://app.example");
      req.setResponseHeader("access-control-allow-credentials", "true");
      if (req.header("authorization") !== "Bearer s3cret") {
        throw new HttpError(401, "missing credentials");
      }
      req.state.user = "alice";
      return next();
    });
    app.sse("/me/events", { retry: 50 }, async function* (req) {
      const connection = ++calls.handler;
      yield new SseEvent({
        id: String(connection),
        event: "hello",
        data: { user: req.state.user, lastEventId: req.lastEventId ?? null },
      });
      if (connection === 1) return; // the stream ends once: the reconnect must be authorised too
      await untilAborted(req.signal);
    });
    return { app, calls };
  }

  test("without credentials the middleware's 401 fails EventSource for good (CLOSED, no reconnect), CORS headers included", async () => {
    const { app, calls } = authApp();
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/me/events`, { types: ["hello"] });
    await sub.until(() => sub.failures.length === 1, "the failure");
    assert.equal(sub.failures[0]!.code, 401);
    assert.equal(sub.es.readyState, EventSource.CLOSED);
    assert.deepEqual(sub.stateAtFailure, [EventSource.CLOSED]);
    const [connection] = sub.connections;
    assert.equal(connection!.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(connection!.headers.get("access-control-allow-credentials"), "true");
    await waitFor(() => connection!.ended !== undefined, "the 401 body");
    const body = JSON.parse(connection!.wire);
    assert.equal(body.message, "missing credentials");
    assert.equal(body.requestId, connection!.headers.get("x-request-id"));
    await sleep(300);
    assert.equal(calls.middleware, 1, "EventSource did not try again");
    assert.equal(calls.handler, 0);
    assert.deepEqual(sub.timeline, ["failure(401)"]);
  });

  test("with credentials from a custom fetch, events arrive with the middleware's CORS headers, across a reconnect", async () => {
    const { app, calls } = authApp();
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/me/events`, {
      types: ["hello"],
      headers: { Authorization: "Bearer s3cret" },
    });
    await sub.waitForEvents(2);
    assert.deepEqual(
      sub.received.map((event) => JSON.parse(event.data)),
      [
        { user: "alice", lastEventId: null },
        { user: "alice", lastEventId: "1" },
      ],
    );
    assert.equal(calls.handler, 2);
    for (const connection of sub.connections) {
      assert.equal(connection.status, 200);
      assert.equal(connection.sent.Authorization, "Bearer s3cret");
      assert.equal(connection.headers.get("content-type"), "text/event-stream; charset=utf-8");
      assert.equal(connection.headers.get("access-control-allow-origin"), "https://app.example");
      assert.equal(connection.headers.get("access-control-allow-credentials"), "true");
    }
    assert.equal(sub.connections[1]!.sent["Last-Event-ID"], "1");
  });

  test("a finished job answers the reconnect with 204: EventSource stops reconnecting", async () => {
    const steps = ["queued", "running", "done"];
    const lastIdsSeen: (string | undefined)[] = [];
    const app = quietApp();
    app.sse("/jobs/:id/progress", { retry: 50 }, (req) => {
      lastIdsSeen.push(req.lastEventId);
      if (req.lastEventId === String(steps.length)) return HttpResponse.empty(204);
      // A plain array is an iterable of events: sent, then the stream ends.
      return steps.map(
        (step, i) => new SseEvent({ id: String(i + 1), event: "progress", data: step }),
      );
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/jobs/7/progress`, { types: ["progress"] });
    await sub.until(() => sub.es.readyState === EventSource.CLOSED, "EventSource to give up");
    await sleep(300); // six retry periods
    assert.deepEqual(sub.data, steps);
    assert.deepEqual(lastIdsSeen, [undefined, "3"]);
    assert.deepEqual(
      sub.connections.map((connection) => connection.status),
      [200, 204],
    );
    assert.equal(sub.failures.at(-1)!.code, 204);
    assert.deepEqual(sub.stateAtFailure, [EventSource.CONNECTING, EventSource.CLOSED]);
  });

  test("a handler that returns undefined answers 204 as well", async () => {
    let calls = 0;
    const app = quietApp();
    app.sse("/maybe", () => {
      calls++;
      return undefined;
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/maybe`);
    await sub.until(() => sub.failures.length === 1, "the failure");
    assert.equal(sub.failures[0]!.code, 204);
    assert.equal(sub.es.readyState, EventSource.CLOSED);
    assert.equal(sub.opens.length, 0);
    await sleep(100);
    assert.equal(calls, 1);
  });

  test("a handler that checks before it streams can refuse with an HttpError (sync or async): EventSource gets the status and stops", async () => {
    const topics = new Set(["news"]);
    let calls = 0;
    const app = quietApp();
    const stream = async function* (req: SluiceRequest) {
      yield new SseEvent({ event: "topic", data: req.params.name });
      await untilAborted(req.signal);
    };
    app.sse("/sync/:name", { retry: 50 }, (req) => {
      calls++;
      if (!topics.has(req.params.name!)) throw new HttpError(404, "no such topic");
      return stream(req);
    });
    app.sse("/async/:name", { retry: 50 }, async (req) => {
      calls++;
      await sleep(10); // looking the topic up
      if (!topics.has(req.params.name!)) throw new HttpError(404, "no such topic");
      return stream(req);
    });
    await using client = await TestClient.start(app);
    using good = new Subscriber(`${client.url}/async/news`, { types: ["topic"] });
    using missingSync = new Subscriber(`${client.url}/sync/sports`, { types: ["topic"] });
    using missingAsync = new Subscriber(`${client.url}/async/sports`, { types: ["topic"] });
    await good.waitForEvents(1);
    assert.deepEqual(good.data, ["news"]);
    for (const sub of [missingSync, missingAsync]) {
      await sub.until(() => sub.failures.length === 1, "the failure");
      assert.equal(sub.failures[0]!.code, 404);
      assert.equal(sub.es.readyState, EventSource.CLOSED);
      assert.equal(sub.opens.length, 0);
    }
    await sleep(200);
    assert.equal(calls, 3, "no reconnects");
  });

  test("an async generator handler that throws an HttpError before its first yield refuses the connection", async () => {
    let calls = 0;
    const app = quietApp();
    app.sse("/topics/:name", { retry: 50 }, async function* (req) {
      calls++;
      if (req.params.name !== "news") throw new HttpError(404, "no such topic");
      yield "news";
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/topics/sports`);
    await sleep(400);
    assert.equal(sub.failures[0]?.code, 404, JSON.stringify(sub.timeline));
    assert.equal(sub.es.readyState, EventSource.CLOSED);
    assert.equal(calls, 1, `the handler ran ${calls} times in 400 ms`);
  });
});

describe("SSE with EventSource: errors, keep-alives, shutdown", () => {
  test("errorEvent: true sends an `error` MessageEvent with { message, requestId }, logs the error, then EventSource reconnects", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let connections = 0;
    app.sse("/events", { retry: 50, errorEvent: true }, async function* (req) {
      connections++;
      if (connections === 1) {
        yield new SseEvent({ id: "1", data: "one" });
        throw new Error("password=hunter2 in a driver error");
      }
      if (connections === 2) {
        yield new SseEvent({ id: "2", data: `two after ${req.lastEventId}` });
        throw new HttpError(503, "feed paused by an admin");
      }
      yield new SseEvent({ id: "3", data: `three after ${req.lastEventId}` });
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`);
    const onerror: unknown[] = [];
    sub.es.onerror = (event) => void onerror.push(event);
    await sub.waitForEvents(5, 3000);

    assert.deepEqual(
      sub.received.map(({ type }) => type),
      ["message", "error", "message", "error", "message"],
    );
    assert.deepEqual(
      [sub.received[0]!.data, sub.received[2]!.data, sub.received[4]!.data],
      ["one", "two after 1", "three after 2"],
    );
    const [first, second] = sub.connections;
    assert.deepEqual(JSON.parse(sub.received[1]!.data), {
      message: "Internal Server Error",
      requestId: first!.headers.get("x-request-id"),
    });
    assert.deepEqual(JSON.parse(sub.received[3]!.data), {
      message: "feed paused by an admin",
      requestId: second!.headers.get("x-request-id"),
    });
    assert.doesNotMatch(first!.wire, /hunter2/);
    assert.match(first!.wire, /\nevent: error\ndata: \{[^\n]*\}\n\n$/);
    // The package's own ErrorEvent comes after the server's `error` event, once the stream ends.
    assert.deepEqual(sub.timeline.slice(0, 5), [
      "open",
      "message:one",
      `error:${sub.received[1]!.data}`,
      "failure()",
      "open",
    ]);
    assert.ok(onerror.length >= 2);
    assert.ok(
      onerror.every((event) => event instanceof EventSourceErrorEvent),
      "onerror gets connection failures only, never the server's `error` MessageEvent",
    );
    assert.deepEqual(sub.connections.map((connection) => connection.ended).slice(0, 2), [
      "clean",
      "clean",
    ]);
    // Both failures are logged with their request id (the crash as an error; the level of a
    // deliberate HttpError is sluice's choice, so only "warn or worse" is asserted for it).
    const failures = lines.filter((line) => line.level >= 40 && /stream/.test(line.msg));
    assert.deepEqual(
      failures.map((line) => [line.reqId, line.err?.message ?? line.message]),
      [
        [first!.headers.get("x-request-id"), "password=hunter2 in a driver error"],
        [second!.headers.get("x-request-id"), "feed paused by an admin"],
      ],
    );
    assert.equal(failures[0]!.level, 50);
  });

  test("errorEvent as a function: its SseEvent is sent (a custom name), or none when it returns undefined", async () => {
    let connections = 0;
    const app = quietApp();
    app.sse(
      "/events",
      {
        retry: 50,
        errorEvent: (error, req) =>
          error instanceof HttpError
            ? undefined
            : new SseEvent({
                event: "fatal",
                data: { reason: (error as Error).message, path: req.path },
              }),
      },
      async function* (req) {
        connections++;
        // A plain error before the first event still streams (a 200, the error event, a
        // clean end) so EventSource retries; an HttpError there would refuse with its status.
        if (connections === 1) throw new Error("quota exceeded");
        yield connections === 2 ? "second" : "third";
        if (connections === 2) throw new HttpError(500, "stays quiet");
        await untilAborted(req.signal);
      },
    );
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["message", "fatal"] });
    await sub.waitForEvents(3, 3000);
    assert.deepEqual(
      sub.received.map(({ type, data }) => [type, data]),
      [
        ["fatal", '{"reason":"quota exceeded","path":"/events"}'],
        ["message", "second"],
        ["message", "third"],
      ],
    );
    assert.equal(
      sub.connections[1]!.wire,
      "retry: 50\n\ndata: second\n\n",
      "no event for the HttpError",
    );
  });

  test("keep-alive comments never become events (keepAlive: 50 over 300 ms idle); keepAlive: 0 sends none", async () => {
    const app = quietApp();
    const handler: SseHandler = async function* (req) {
      await sleep(300, undefined, { signal: req.signal });
      yield "only";
      await untilAborted(req.signal);
    };
    app.sse("/chatty", { keepAlive: 50 }, handler);
    app.sse("/silent", { keepAlive: 0 }, handler);
    await using client = await TestClient.start(app);
    using chatty = new Subscriber(`${client.url}/chatty`);
    using silent = new Subscriber(`${client.url}/silent`);
    await chatty.waitForEvents(1);
    await silent.waitForEvents(1);
    await sleep(200);
    assert.deepEqual(chatty.timeline, ["open", "message:only"]);
    assert.deepEqual(silent.timeline, ["open", "message:only"]);
    const wire = chatty.connections[0]!.wire;
    assert.match(wire, /^(: keep-alive\n\n)+data: only\n\n(: keep-alive\n\n)+$/);
    const before = wire.slice(0, wire.indexOf("data: only")).split(": keep-alive").length - 1;
    assert.ok(before >= 3, `${before} keep-alives in 300 ms of silence`);
    assert.equal(silent.connections[0]!.wire, "data: only\n\n");
  });

  test("app.close() while EventSource is connected: the stream ends cleanly, finally runs, close resolves promptly, the reconnect fails", async () => {
    let handlerCalls = 0;
    let finallyRan = false;
    const app = quietApp();
    const ticks = tickHandler(
      () => {
        finallyRan = true;
      },
      { periodMs: 1000, retry: 50 },
    );
    app.sse("/events", { retry: 50 }, (req) => {
      handlerCalls++;
      return ticks(req);
    });
    await using client = await TestClient.start(app);
    using sub = new Subscriber(`${client.url}/events`, { types: ["message", "update"] });
    await sub.waitForEvents(2);
    const started = performance.now();
    await app.close({ timeout: 5000 });
    const took = performance.now() - started;
    assert.ok(took < 1000, `close took ${took} ms`);
    assert.equal(finallyRan, true, "close waited for the producer's finally");
    await sub.until(() => sub.connections[0]!.ended !== undefined, "the end of the stream");
    assert.equal(sub.connections[0]!.ended, "clean");
    // The clean end makes EventSource reconnect: that attempt must fail (refused, or a 503).
    await sub.until(() => sub.failures.length >= 2, "a failed reconnect");
    assert.equal(sub.opens.length, 1);
    assert.notEqual(sub.es.readyState, EventSource.OPEN);
    assert.equal(sub.received.length, 2);
    assert.equal(handlerCalls, 1);
    const retried = sub.failures[1]!;
    assert.ok(
      retried.code === 503 ||
        /ECONNREFUSED|other side closed|fetch failed/.test(retried.message ?? ""),
      `failure: ${retried.code} ${retried.message}`,
    );
  });
  test("app.close() after an EventSource has closed resolves promptly", async () => {
    let connections = 0;
    const app = quietApp();
    app.sse("/events", async function* (req) {
      yield "hello";
      await untilAborted(req.signal);
    });
    await using client = await TestClient.start(app);
    app.server!.on("connection", () => connections++);
    const sub = new Subscriber(`${client.url}/events`);
    try {
      await sub.waitForEvents(1);
    } finally {
      sub.close();
    }
    // The spare connection undici opens after the abort, as a browser's preconnect would.
    await waitFor(() => connections === 2, "undici's spare connection after the abort", 1000);
    const started = performance.now();
    await app.close({ timeout: 5000 });
    const took = performance.now() - started;
    assert.ok(took < 1000, `close took ${Math.round(took)} ms with an unused connection open`);
  });
});
