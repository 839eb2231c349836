import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import {
  App,
  HttpError,
  HttpResponse,
  type SluiceRequest,
  SseEvent,
  SseResponse,
  StreamingResponse,
} from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { openSocket, portOf, rawExchange } from "./support/raw-http.js";
import { sleep, waitFor } from "./support/wait.js";

/** Sleeps `ms`, or less when the signal aborts (resolves either way). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

describe("app.sse(): the contract", () => {
  test("the issue's example: Last-Event-ID, SseEvent fields, plain objects as data-only events", async () => {
    const app = quietApp();
    let finallyRan = false;
    app.sse("/events", async function* (req) {
      let id = Number(req.lastEventId ?? 0);
      try {
        while (!req.signal.aborted) {
          yield new SseEvent({
            data: { tick: ++id },
            id: String(id),
            event: "update",
            retry: 3000,
          });
          yield { plain: "object" };
          await pause(1000, req.signal);
        }
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    const events = client.events("/events", { headers: { "Last-Event-ID": "5" } });
    assert.deepEqual(await events.take(2), [
      { event: "update", data: '{"tick":6}', id: "6", retry: 3000 },
      { event: "message", data: '{"plain":"object"}', id: undefined, retry: undefined },
    ]);
    const started = performance.now();
    await events.close();
    await waitFor(() => finallyRan, "the generator's finally", 1000);
    assert.ok(performance.now() - started < 1000);
  });

  test("response headers, flushed before the first event is produced", async () => {
    const first = gate();
    const app = quietApp();
    app.sse("/events", async function* () {
      await first.opened;
      yield "first";
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/events");
    assert.equal(stream.statusCode, 200, "the head arrived while the producer waits");
    assert.equal(stream.headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(stream.headers["cache-control"], "no-cache");
    assert.equal(stream.headers["x-accel-buffering"], "no");
    assert.equal(stream.headers.connection, "keep-alive");
    assert.equal(stream.headers["content-length"], undefined);
    first.open();
    const next = await stream.events().next();
    assert.deepEqual(next.value, {
      event: "message",
      data: "first",
      id: undefined,
      retry: undefined,
    });
    assert.ok(stream.headers["x-request-id"], "the request id is echoed");
  });

  test("req.lastEventId is the Last-Event-ID header, undefined without it", async () => {
    const app = quietApp();
    app.sse("/id", (req) => [{ lastEventId: req.lastEventId ?? null }]);
    await using client = await TestClient.start(app);
    const without = await client.events("/id").take(1);
    assert.equal(without[0].data, '{"lastEventId":null}');
    const withId = await client.events("/id", { headers: { "last-event-id": "abc-42" } }).take(1);
    assert.equal(withId[0].data, '{"lastEventId":"abc-42"}');
  });

  test("a non-ASCII Last-Event-ID sent as UTF-8 (as browsers do) reads back as the id sent", async () => {
    const app = quietApp();
    app.sse("/id", (req) => [{ lastEventId: req.lastEventId }]);
    await using client = await TestClient.start(app);
    const ask = async (idBytes: Buffer) => {
      const head = Buffer.concat([
        Buffer.from("GET /id HTTP/1.1\r\nHost: x\r\nLast-Event-ID: "),
        idBytes,
        Buffer.from("\r\nConnection: close\r\n\r\n"),
      ]);
      const answer = Buffer.from(await rawExchange(portOf(client.url), head), "latin1");
      const body = answer.toString("utf8");
      return JSON.parse(
        body.slice(body.indexOf("data: ") + 6, body.indexOf("\n\n", body.indexOf("data: "))),
      );
    };
    assert.deepEqual(await ask(Buffer.from("ü-🎉-7", "utf8")), { lastEventId: "ü-🎉-7" });
    // Bytes that are not UTF-8 are kept as Node read them (Latin-1).
    assert.deepEqual(await ask(Buffer.from([0x41, 0xfc])), { lastEventId: "Aü" });
  });

  test("strings are data as they are (newlines split into data: lines); sync iterables work", async () => {
    const app = quietApp();
    app.sse("/lines", () => ["one\ntwo", "x\r\ny\rz", ""]);
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/lines");
    const raw = await stream.text();
    assert.equal(raw, "data: one\ndata: two\n\ndata: x\ndata: y\ndata: z\n\ndata: \n\n");
    assert.equal(stream.complete, true, "a source that ends ends the response cleanly");
  });

  test("events from one tick share a write; each event is whole on the wire", async () => {
    const app = quietApp();
    app.sse("/burst", async function* () {
      for (let i = 0; i < 500; i++) yield new SseEvent({ data: { i }, id: String(i) });
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/burst");
    let chunks = 0;
    const messages = [];
    const parser = new (await import("../src/testing/index.js")).SseParser();
    for await (const chunk of stream.chunks()) {
      chunks++;
      messages.push(...parser.push(chunk));
    }
    assert.equal(messages.length, 500);
    assert.deepEqual(messages[499], {
      event: "message",
      data: '{"i":499}',
      id: "499",
      retry: undefined,
    });
    assert.ok(chunks < 50, `500 events arrived in ${chunks} reads`);
  });

  test("the retry option is sent first", async () => {
    const app = quietApp();
    app.sse("/r", { retry: 2500 }, () => ["x"]);
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/r");
    assert.equal(await stream.text(), "retry: 2500\n\ndata: x\n\n");
  });

  test("an SseResponse can be returned from any route (a POST-started stream, say)", async () => {
    const app = quietApp();
    app.post("/chat", async (req) => {
      const { prompt } = await req.json<{ prompt: string }>();
      return new SseResponse(
        (async function* () {
          for (const word of prompt.split(" ")) yield new SseEvent({ event: "token", data: word });
        })(),
        { statusCode: 200, headers: { "x-model": "echo" } },
      );
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("POST", "/chat", { json: { prompt: "hello there" } });
    assert.equal(stream.headers["x-model"], "echo");
    assert.equal(stream.headers["cache-control"], "no-cache");
    const tokens = [];
    for await (const event of stream.events()) tokens.push(`${event.event}:${event.data}`);
    assert.deepEqual(tokens, ["token:hello", "token:there"]);
  });
});

describe("app.sse(): keep-alive", () => {
  test("an idle stream gets a comment every keepAlive ms", async () => {
    const app = quietApp();
    app.sse("/idle", { keepAlive: 80 }, async function* (req) {
      yield "start";
      await pause(10_000, req.signal);
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/idle");
    const started = performance.now();
    const arrivals: number[] = [];
    const lines = stream.lines();
    assert.equal((await lines.next()).value, "data: start");
    assert.equal((await lines.next()).value, "");
    while (arrivals.length < 3) {
      const line = await lines.next();
      if (line.value === ": keep-alive") arrivals.push(performance.now() - started);
      else assert.equal(line.value, "", "only keep-alive comments and their blank lines");
    }
    for (const [index, at] of arrivals.entries()) {
      // Timers never fire early, but the first line's own delivery can lag the server's clock
      // on a busy machine (seen: 15 ms in CI): a keepAlive of half would still fail this.
      assert.ok(at >= 80 * (index + 1) - 30, `comment ${index + 1} after ${at.toFixed(0)} ms`);
    }
    const events = [];
    const parser = new (await import("../src/testing/index.js")).SseParser();
    events.push(...parser.push(": keep-alive\n\n"));
    assert.deepEqual(events, [], "a keep-alive comment is no event to a client");
  });

  test("events reset the idle clock: a stream busier than keepAlive gets no comments", async () => {
    const app = quietApp();
    app.sse("/busy", { keepAlive: 150 }, async function* (req) {
      for (let i = 0; i < 10 && !req.signal.aborted; i++) {
        yield String(i);
        await pause(40, req.signal);
      }
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/busy");
    const text = await stream.text();
    assert.doesNotMatch(text, /keep-alive/);
    assert.equal(text.match(/^data: /gm)?.length, 10);
  });

  test("keepAlive: 0 disables the comments; the default is 15 s", async () => {
    const app = quietApp();
    app.sse("/quiet", { keepAlive: 0 }, async function* (req) {
      yield "start";
      await pause(300, req.signal);
      yield "end";
    });
    await using client = await TestClient.start(app);
    const text = await (await client.stream("GET", "/quiet")).text();
    assert.equal(text, "data: start\n\ndata: end\n\n");
    assert.deepEqual(new SseResponse([]).lifecycle.keepAlive?.idleMs, 15_000);
  });

  test("a comment never lands inside an event a raw text/event-stream producer is still writing", async () => {
    const app = quietApp();
    app.get(
      "/raw",
      () =>
        new SseResponse(
          (async function* () {
            yield "data: first half";
            await sleep(200);
            yield " second half\n\n";
            await sleep(120);
            yield "data: done\n\n";
          })(),
          { raw: true, keepAlive: 50 },
        ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/raw");
    const text = await stream.text();
    assert.match(text, /^data: first half second half\n\n(: keep-alive\n\n)+data: done\n\n$/);
  });
});

describe("app.sse(): keep-alive in hand-written event streams", () => {
  for (const [name, chunks] of [
    ["CRLF endings", ["data: a\r\n\r\n"]],
    ["the blank line in a chunk of its own", ["data: a\n", "\n"]],
    ["CR endings split across chunks", ["data: a\r", "\r"]],
    ["bytes", [Buffer.from("data: a\n\n")]],
  ] as const) {
    test(`a comment follows a complete event: ${name}`, async () => {
      const app = quietApp();
      app.get(
        "/raw",
        (req) =>
          new SseResponse(
            (async function* () {
              for (const chunk of chunks) yield chunk;
              await pause(10_000, req.signal);
            })(),
            { raw: true, keepAlive: 40 },
          ),
      );
      await using client = await TestClient.start(app);
      const stream = await client.stream("GET", "/raw");
      let received = "";
      for await (const chunk of stream.chunks()) {
        received += chunk.toString("latin1");
        if (received.includes(": keep-alive")) break;
      }
      const expected = chunks.map((chunk) => chunk.toString()).join("");
      assert.ok(received.startsWith(`${expected}: keep-alive\n\n`), JSON.stringify(received));
    });
  }
});

describe("app.sse(): backpressure", () => {
  test("events written straight to the socket, one per turn, to a client that reads nothing: the producer stops, then goes on once the client reads", async () => {
    const app = quietApp();
    const EVENT_BYTES = 8 * 1024;
    let produced = 0;
    let finished = false;
    // One shared event: its bytes are framed once and written to the socket directly, one
    // event per turn (so never batched with another), the path whose backpressure is the
    // socket's rather than the response's.
    const event = new SseEvent({ data: "x".repeat(EVENT_BYTES) });
    app.sse("/firehose", async function* (req) {
      try {
        while (!req.signal.aborted) {
          await new Promise((resolve) => setImmediate(resolve)); // the next turn
          produced++;
          yield event;
        }
      } finally {
        finished = true;
      }
    });
    await using client = await TestClient.start(app);
    const socket = connect(portOf(client.url), "127.0.0.1");
    socket.on("error", () => {});
    socket.write("GET /firehose HTTP/1.1\r\nHost: x\r\n\r\n");
    socket.pause();
    await sleep(1000);
    const whilePaused = produced * EVENT_BYTES;
    assert.ok(whilePaused > 0, "the stream started");
    // Kernel buffers on loopback hold a few MB; without backpressure, a second of this
    // producer writes hundreds.
    assert.ok(whilePaused < 32 * 1024 * 1024, `producer ran ahead: ${whilePaused} bytes`);
    let received = 0;
    socket.on("data", (data: Buffer) => {
      received += data.length;
    });
    socket.resume();
    await waitFor(() => received > whilePaused + 4 * 1024 * 1024, "the stream to go on");
    socket.destroy();
    await waitFor(() => finished, "the producer's finally");
  });
});

describe("app.sse(): disconnects", () => {
  test("a generator blocked on an await runs its finally within 1 s; signal and isDisconnected agree", async () => {
    const app = quietApp();
    let seen: SluiceRequest | undefined;
    let finallyAt = 0;
    let disconnected: boolean | undefined;
    app.sse("/blocked", async function* (req) {
      seen = req;
      try {
        yield "hello";
        await pause(60_000, req.signal); // blocked until the signal lets it go
        yield "never";
      } finally {
        finallyAt = performance.now();
        disconnected = await req.isDisconnected();
      }
    });
    await using client = await TestClient.start(app);
    const events = client.events("/blocked");
    await events.take(1);
    assert.equal(await seen?.isDisconnected(), false, "connected while the client reads");
    const closedAt = performance.now();
    await events.close();
    await waitFor(() => finallyAt > 0, "finally", 1000);
    assert.ok(finallyAt - closedAt < 1000);
    assert.equal(seen?.signal.aborted, true);
    assert.equal(disconnected, true);
  });

  test("a generator that ignores the signal but yields again is stopped at its next yield", async () => {
    const app = quietApp();
    let finallyRan = false;
    let produced = 0;
    app.sse("/ticker", async function* () {
      try {
        for (;;) {
          produced++;
          yield "tick";
          await sleep(50);
        }
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    const events = client.events("/ticker");
    await events.take(2);
    await events.close();
    await waitFor(() => finallyRan, "finally", 1000);
    const producedAtStop = produced;
    await sleep(150);
    assert.equal(produced, producedAtStop, "nothing is produced after the stop");
  });

  test("a client that stops reading pauses the producer; memory stays bounded", async () => {
    const app = quietApp();
    let produced = 0;
    let finallyRan = false;
    const payload = "x".repeat(8 * 1024);
    app.sse("/flood", async function* () {
      try {
        for (;;) {
          produced++;
          yield new SseEvent({ data: payload });
        }
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    const { socket } = openSocket(portOf(client.url));
    socket.pause(); // never reads
    socket.write("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => produced > 10, "the producer to start");
    // Wait for it to stall against the full socket buffers, then check it stays stalled.
    let previous = -1;
    await waitFor(
      () => {
        const stalled = produced === previous;
        previous = produced;
        return stalled;
      },
      "the producer to stall",
      5000,
    );
    const stalledAt = produced;
    await sleep(300);
    assert.equal(produced, stalledAt, "not pulled while the socket is full");
    // Kernel buffers on loopback hold a few MB at most: far less than an unbounded producer.
    assert.ok(stalledAt * payload.length < 64 * 1024 * 1024, `${stalledAt} events were produced`);
    socket.destroy();
    await waitFor(() => finallyRan, "finally after the non-reading client left", 1000);
  });
});

/** A producer that yields "hello", then waits on something that knows nothing of req.signal. */
function stuckProducer() {
  const state = {
    finallyRan: false,
    release: () => {},
    handler: undefined as unknown as () => AsyncGenerator<string>,
  };
  state.handler = async function* () {
    try {
      yield "hello";
      await new Promise<void>((resolve) => {
        state.release = resolve; // a message bus, say
      });
      yield "never sent";
    } finally {
      state.finallyRan = true;
    }
  };
  return state;
}

describe("app.sse(): a producer stuck on an await that ignores the signal", () => {
  test("app.close() still ends its stream cleanly at once; close waits for its finally up to the timeout", async () => {
    const app = quietApp();
    const stuck = stuckProducer();
    app.sse("/stuck", stuck.handler);
    const client = await TestClient.start(app);
    const stream = await client.stream("GET", "/stuck");
    assert.equal((await stream.events().next()).value?.data, "hello");
    const closing = app.close({ timeout: 3000 });
    const rest = await stream.text();
    assert.equal(rest, "", "nothing after the abort");
    assert.equal(stream.complete, true, "ended cleanly while the producer was still stuck");
    assert.equal(stuck.finallyRan, false);
    stuck.release();
    await closing;
    assert.equal(stuck.finallyRan, true, "its finally ran once its await settled");
    await client.close();
  });

  test("a client that leaves gets its connection closed; the finally runs once the await settles", async () => {
    const app = quietApp();
    const stuck = stuckProducer();
    app.sse("/stuck", stuck.handler);
    await using client = await TestClient.start(app);
    const events = client.events("/stuck");
    await events.take(1);
    await events.close();
    await sleep(50);
    assert.equal(stuck.finallyRan, false, "the await ignores the signal");
    stuck.release();
    await waitFor(() => stuck.finallyRan, "finally after the await settled", 1000);
  });

  test("an async iterator whose next() returns plain results (not promises) streams like for await", async () => {
    const app = quietApp();
    app.sse("/plain", () => {
      let i = 0;
      return {
        [Symbol.asyncIterator]: () => ({
          next: () =>
            i < 3 ? { done: false, value: `row ${i++}` } : { done: true, value: undefined },
        }),
      } as unknown as AsyncIterable<string>;
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/plain");
    assert.equal(await stream.text(), "data: row 0\n\ndata: row 1\n\ndata: row 2\n\n");
  });
});

describe("app.sse(): failures and answers other than a stream", () => {
  test("a generator that throws: logged with the request id, the stream ends cleanly after the events before it", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.sse("/fails", async function* () {
      yield "before";
      throw new Error("database went away");
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/fails");
    const events = [];
    for await (const event of stream.events()) events.push(event.data);
    assert.deepEqual(events, ["before"]);
    assert.equal(stream.complete, true, "a clean end: the client reconnects after its retry delay");
    const line = lines.find((entry) => entry.err?.message === "database went away");
    assert.ok(line, "the error is logged");
    assert.equal(line.reqId, stream.headers["x-request-id"]);
    assert.equal(line.level, 50);
  });

  test("errorEvent: true sends a last `event: error` with the request id", async () => {
    const app = quietApp();
    app.sse("/fails", { errorEvent: true }, async function* () {
      yield "before";
      throw new Error("secret internals");
    });
    app.sse("/refused", { errorEvent: true }, async function* () {
      yield "before";
      throw new HttpError(403, "subscription expired");
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/fails");
    const events = [];
    for await (const event of stream.events()) events.push(event);
    assert.equal(events.length, 2);
    assert.equal(events[1].event, "error");
    assert.deepEqual(JSON.parse(events[1].data), {
      message: "Internal Server Error",
      requestId: stream.headers["x-request-id"],
    });
    const refused = await client.events("/refused").take(2);
    assert.equal(JSON.parse(refused[1].data).message, "subscription expired");
  });

  test("errorEvent as a function makes the event; one that throws is logged and the stream still ends", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.sse(
      "/custom",
      { errorEvent: (error) => new SseEvent({ event: "failed", data: (error as Error).message }) },
      async function* () {
        yield "a";
        throw new Error("boom");
      },
    );
    app.sse("/none", { errorEvent: () => undefined }, async function* () {
      yield "a";
      throw new Error("boom");
    });
    app.sse(
      "/broken",
      {
        errorEvent: () => {
          throw new Error("farewell broke");
        },
      },
      async function* () {
        yield "a";
        throw new Error("boom");
      },
    );
    await using client = await TestClient.start(app);
    const custom = await client.stream("GET", "/custom");
    assert.equal(await custom.text(), "data: a\n\nevent: failed\ndata: boom\n\n");
    const none = await client.stream("GET", "/none");
    assert.equal(await none.text(), "data: a\n\n");
    const broken = await client.stream("GET", "/broken");
    assert.equal(await broken.text(), "data: a\n\n");
    assert.equal(broken.complete, true);
    assert.ok(lines.some((line) => line.err?.message === "farewell broke"));
  });

  test("a yielded value that cannot be serialised ends the stream after the events before it", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.sse("/bigint", async function* () {
      yield { ok: 1 };
      yield { bad: 1n };
      yield { never: true };
    });
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/bigint");
    assert.equal(await stream.text(), 'data: {"ok":1}\n\n');
    assert.ok(lines.some((line) => /cannot be serialised as JSON/.test(line.err?.message ?? "")));
  });

  test("a handler may refuse before streaming: HttpError, a 204, a Response", async () => {
    const app = quietApp();
    app.sse("/forbidden", () => {
      throw new HttpError(403, "not your channel");
    });
    app.sse("/done", () => HttpResponse.empty(204));
    app.sse("/nothing", () => undefined);
    app.sse("/async-refusal", async () => {
      await sleep(5);
      throw new HttpError(404, "no such channel");
    });
    await using client = await TestClient.start(app);
    const forbidden = await client.get("/forbidden");
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json<{ message: string }>().message, "not your channel");
    assert.equal((await client.get("/done")).statusCode, 204);
    assert.equal((await client.get("/nothing")).statusCode, 204);
    assert.equal((await client.get("/async-refusal")).statusCode, 404);
  });

  test("a handler that returns something that is not a stream is a 500 with a clear log", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.sse("/number", () => 42 as unknown as Iterable<unknown>);
    app.sse("/string", () => "hello" as unknown as Iterable<unknown>);
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/number")).statusCode, 500);
    assert.equal((await client.get("/string")).statusCode, 500);
    const messages = lines.map((line) => line.err?.message ?? "");
    assert.equal(
      messages.filter((message) => /must return an AsyncIterable or Iterable/.test(message)).length,
      2,
    );
  });

  test("client.events() on a response that is not an event stream fails with its status and body", async () => {
    const app = quietApp();
    app.get("/json", () => ({ not: "events" }));
    await using client = await TestClient.start(app);
    await assert.rejects(
      client.events("/json").next(),
      /Expected a 200 text\/event-stream response, got 200 application\/json; charset=utf-8: \{"not":"events"\}/,
    );
    await assert.rejects(client.events("/missing").take(1), /got 404/);
  });
});

describe("app.sse(): middleware, HEAD, shutdown, seed-style routes", () => {
  test("middleware runs first: auth refuses, CORS headers reach the stream", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      if (req.header("authorization") !== "Bearer ok")
        throw new HttpError(401, "missing credentials");
      req.setResponseHeader("access-control-allow-origin", "*");
      req.state.user = "alice";
      return next();
    });
    let started = 0;
    app.sse("/private", (req) => {
      started++;
      return [{ user: req.state.user }];
    });
    await using client = await TestClient.start(app);
    const refused = await client.get("/private");
    assert.equal(refused.statusCode, 401);
    assert.equal(started, 0, "the handler never ran");
    const events = client.events("/private", { headers: { authorization: "Bearer ok" } });
    const response = await events.response;
    assert.equal(response.headers["access-control-allow-origin"], "*");
    assert.deepEqual((await events.take(1))[0].data, '{"user":"alice"}');
  });

  test("HEAD answers with the SSE head and never starts the producer", async () => {
    const app = quietApp();
    let pulled = false;
    app.sse("/events", async function* () {
      pulled = true;
      yield "x";
    });
    await using client = await TestClient.start(app);
    const res = await client.head("/events");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(res.text(), "");
    assert.equal(pulled, false);
  });

  test("app.close() ends open SSE streams cleanly and runs their finally", async () => {
    const app = quietApp();
    let finallyRuns = 0;
    app.sse("/events", async function* (req) {
      try {
        yield "hello";
        await pause(60_000, req.signal);
      } finally {
        finallyRuns++;
      }
    });
    const client = await TestClient.start(app);
    const streams = await Promise.all([1, 2, 3].map(() => client.stream("GET", "/events")));
    for (const stream of streams) await stream.events().next();
    const started = performance.now();
    const texts = streams.map((stream) => stream.text());
    await app.close({ timeout: 5000 });
    assert.ok(performance.now() - started < 1000, "close did not wait for its timeout");
    assert.equal(finallyRuns, 3);
    assert.deepEqual(await Promise.all(texts), ["", "", ""]);
    for (const stream of streams) assert.equal(stream.complete, true, "ended, not cut");
  });

  test("addRoute with a text/event-stream StreamingResponse (the seed's form) gets SSE behaviour", async () => {
    const app = quietApp();
    app.addRoute(
      { method: "GET", path: "/seed", handler_name: "seed", is_async: true },
      () =>
        new StreamingResponse(
          (async function* () {
            yield "retry: 1000\n\n";
            yield new SseEvent({ id: "1", data: "encoded for you" });
            yield Buffer.from("data: raw bytes\n\n");
          })(),
          { headers: { "Content-Type": "text/event-stream" } },
        ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/seed");
    assert.equal(stream.headers["content-type"], "text/event-stream");
    assert.equal(stream.headers["cache-control"], "no-cache");
    const events = [];
    for await (const event of stream.events()) events.push(event);
    assert.deepEqual(events, [
      { event: "message", data: "encoded for you", id: "1", retry: undefined },
      { event: "message", data: "raw bytes", id: undefined, retry: undefined },
    ]);
    assert.equal(stream.sseState.reconnectionTime, 1000);
  });

  test("the test client parses what other servers send: BOM, CR and CRLF endings, no-space fields, split chunks", async () => {
    const app = quietApp();
    app.get(
      "/foreign",
      () =>
        new StreamingResponse(
          (async function* () {
            yield Buffer.from([0xef, 0xbb]); // a BOM split across chunks
            await sleep(5);
            yield Buffer.concat([Buffer.from([0xbf]), Buffer.from("data:first\r")]);
            await sleep(5);
            yield "\r:comment\r\nevent:custom\r\ndata: second\r\nid:7\r";
            await sleep(5);
            yield "\n\r\ndata\n\n";
          })(),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    await using client = await TestClient.start(app);
    const events = [];
    for await (const event of client.events("/foreign")) events.push(event);
    assert.deepEqual(events, [
      { event: "message", data: "first", id: undefined, retry: undefined },
      { event: "custom", data: "second", id: "7", retry: undefined },
      { event: "message", data: "", id: undefined, retry: undefined },
    ]);
  });

  test("a text/event-stream StreamingResponse that yields a plain object fails clearly", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get(
      "/seed",
      () =>
        new StreamingResponse([{ not: "a frame" }], {
          headers: { "content-type": "text/event-stream" },
        }),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/seed");
    assert.equal(await stream.text(), "");
    assert.ok(
      lines.some((line) => /use app\.sse\(\) to send plain values/.test(line.err?.message ?? "")),
    );
  });

  test("an HTTP/1.0 client gets the events and a close at the end", async () => {
    const app = quietApp();
    app.sse("/old", () => ["a", "b"]);
    await using client = await TestClient.start(app);
    const answer = await rawExchange(portOf(client.url), "GET /old HTTP/1.0\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(answer, /transfer-encoding/i);
    assert.ok(answer.endsWith("\r\n\r\ndata: a\n\ndata: b\n\n"));
  });
});

describe("app.sse(): registration errors", () => {
  test("bad options and missing handlers throw at registration", () => {
    const app = quietApp();
    const handler = () => [];
    assert.throws(
      () => app.sse("/a", { keepAlive: -1 }, handler),
      /keepAlive must be a whole number of milliseconds from 0 \(disabled\) to 2147483647/,
    );
    // setTimeout would fire such delays after 1 ms: a comment loop on every stream.
    assert.throws(() => app.sse("/a", { keepAlive: 2 ** 31 }, handler), /got 2147483648/);
    assert.throws(() => app.sse("/a", { keepAlive: 0.5 }, handler), /keepAlive/);
    assert.throws(() => app.sse("/a", { keepAlive: Number.NaN }, handler), /keepAlive/);
    assert.throws(
      () => app.sse("/a", { keepAlive: "5" as unknown as number }, handler),
      /keepAlive/,
    );
    assert.throws(
      () => app.sse("/a", { retry: 1.5 }, handler),
      /retry must be a non-negative integer/,
    );
    assert.throws(
      () => app.sse("/a", { errorEvent: "yes" as unknown as boolean }, handler),
      /errorEvent must be a boolean or a function/,
    );
    assert.throws(
      () => app.sse("/a", {}, undefined as unknown as () => []),
      /needs a handler function/,
    );
    assert.throws(
      () => app.sse("/a", null as unknown as () => []),
      /needs a handler function|options must be an object/,
    );
    assert.throws(() => new SseResponse([], { retry: -5 }), /retry/);
  });
});
