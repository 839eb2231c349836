import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { describe, test } from "node:test";
import { App, HttpError, ndjson, type SluiceRequest, StreamingResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { decodeChunked, portOf, rawExchange } from "./support/raw-http.js";
import { sleep, waitFor } from "./support/wait.js";

/** A sync iterable whose first step throws. */
function failingIterable(): Iterable<string> {
  return {
    [Symbol.iterator]: () => ({
      next: () => {
        throw new Error("sync iterator broke");
      },
    }),
  };
}

/** Yields `first`, waits for `resume`, then yields `second`. */
async function* pausedAfterFirst(first: string, second: string, resume: Promise<void>) {
  yield first;
  await resume;
  yield second;
}

describe("streaming responses: timing", () => {
  test("headers arrive before the first chunk is produced, and each chunk as it is produced", async () => {
    const beforeFirst = gate();
    const beforeSecond = gate();
    const app = quietApp();
    app.get(
      "/slow",
      () =>
        new StreamingResponse(
          (async function* () {
            await beforeFirst.opened;
            yield "first\n";
            await beforeSecond.opened;
            yield "second\n";
          })(),
          {
            statusCode: 201,
            headers: { "Content-Type": "text/plain; charset=utf-8", "X-Stream": "yes" },
          },
        ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/slow");
    assert.equal(stream.statusCode, 201, "head received while the producer has produced nothing");
    assert.equal(stream.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(stream.headers["x-stream"], "yes");
    assert.equal(stream.headers["x-accel-buffering"], "no");
    assert.equal(stream.headers["x-content-type-options"], "nosniff");
    beforeFirst.open();
    const lines = stream.lines();
    assert.deepEqual(await lines.next(), { done: false, value: "first" });
    beforeSecond.open();
    assert.deepEqual(await lines.next(), { done: false, value: "second" });
    assert.equal((await lines.next()).done, true);
    assert.equal(stream.complete, true);
  });

  test("fetch (undici) reads the first chunk while the generator is still running", async () => {
    const finish = gate();
    const app = quietApp();
    app.get(
      "/slow",
      () => new StreamingResponse(pausedAfterFirst("tick-1\n", "tick-2\n", finish.opened)),
    );
    await using client = await TestClient.start(app);
    const response = await fetch(`${client.url}/slow`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), "tick-1\n");
    finish.open();
    let rest = "";
    for (let step = await reader.read(); !step.done; step = await reader.read())
      rest += Buffer.from(step.value).toString();
    assert.equal(rest, "tick-2\n");
  });

  test("curl -N prints the first chunk before the generator finishes", async () => {
    const finish = gate();
    const app = quietApp();
    app.get(
      "/slow",
      () => new StreamingResponse(pausedAfterFirst("curl-first\n", "curl-last\n", finish.opened)),
    );
    await using client = await TestClient.start(app);
    const curl = spawn("curl", ["-sN", `${client.url}/slow`]);
    let output = "";
    curl.stdout.on("data", (data) => {
      output += data;
    });
    await waitFor(() => output.includes("curl-first"), "curl to print the first chunk");
    assert.equal(output.includes("curl-last"), false);
    finish.open();
    const code = await new Promise((resolve) => curl.on("close", resolve));
    assert.equal(code, 0);
    assert.equal(output, "curl-first\ncurl-last\n");
  });
});

describe("streaming responses: client disconnect", () => {
  function disconnectApp() {
    const events: string[] = [];
    let finallyAt = 0;
    let lastRequest: SluiceRequest | undefined;
    const app = quietApp();
    // Blocked on a long wait that only the signal can cut short.
    app.get("/blocked", (req) => {
      lastRequest = req;
      return new StreamingResponse(
        (async function* () {
          try {
            yield "started\n";
            await sleep(60_000, undefined, { signal: req.signal });
            yield "never\n";
          } catch (error) {
            events.push(`caught ${(error as Error).name}`);
          } finally {
            finallyAt = performance.now();
            events.push("finally");
          }
        })(),
      );
    });
    // Suspended at a yield because the client does not read (backpressure).
    app.get("/flood", (req) => {
      lastRequest = req;
      return new StreamingResponse(
        (async function* () {
          try {
            for (;;) yield Buffer.alloc(64 * 1024, 120);
          } finally {
            finallyAt = performance.now();
            events.push("finally");
          }
        })(),
      );
    });
    return { app, events, finallyAt: () => finallyAt, request: () => lastRequest };
  }

  test("a producer blocked on an await runs its finally within 1 s of close(); the signal aborts", async () => {
    const fixture = disconnectApp();
    await using client = await TestClient.start(fixture.app);
    const stream = await client.stream("GET", "/blocked");
    const lines = stream.lines();
    assert.equal((await lines.next()).value, "started");
    const closedAt = performance.now();
    await stream.close();
    await waitFor(() => fixture.events.includes("finally"), "the generator's finally", 1000);
    assert.ok(
      fixture.finallyAt() - closedAt < 1000,
      `finally after ${fixture.finallyAt() - closedAt} ms`,
    );
    const request = fixture.request()!;
    assert.equal(request.signal.aborted, true);
    assert.equal((request.signal.reason as Error).name, "RequestAbortedError");
    assert.equal(await request.isDisconnected(), true);
    assert.deepEqual(fixture.events, ["caught AbortError", "finally"]);
  });

  test("a producer paused by backpressure runs its finally within 1 s of close()", async () => {
    const fixture = disconnectApp();
    await using client = await TestClient.start(fixture.app);
    const stream = await client.stream("GET", "/flood");
    const chunks = stream.chunks();
    await chunks.next();
    await sleep(200); // let the socket buffers fill so the producer waits for 'drain'
    const closedAt = performance.now();
    await stream.close();
    await waitFor(() => fixture.events.includes("finally"), "the generator's finally", 1000);
    assert.ok(fixture.finallyAt() - closedAt < 1000);
  });

  test("isDisconnected() is false while the client is connected", async () => {
    const app = quietApp();
    app.get("/check", async (req) => ({
      disconnected: await req.isDisconnected(),
      aborted: req.signal.aborted,
    }));
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/check")).json(), { disconnected: false, aborted: false });
  });
});

describe("streaming responses: failures", () => {
  test("a producer that fails before its first item answers with the error's status, not a 200", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get(
      "/refused",
      () =>
        new StreamingResponse(
          // biome-ignore lint/correctness/useYield: a producer that fails before its first item
          (async function* () {
            await Promise.resolve(); // a check that needs no I/O
            throw new HttpError(404, "no such export");
          })(),
        ),
    );
    app.get("/crashed", () => new StreamingResponse(failingIterable()));
    app.get(
      "/late",
      () =>
        new StreamingResponse(
          // biome-ignore lint/correctness/useYield: a producer that fails before its first item
          (async function* () {
            await sleep(30); // real I/O first: the head has gone out by then
            throw new Error("failed after the head");
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const refused = await client.get("/refused");
    assert.equal(refused.statusCode, 404);
    assert.equal(refused.json<{ message: string }>().message, "no such export");
    const crashed = await client.get("/crashed");
    assert.equal(crashed.statusCode, 500);
    assert.ok(
      lines.some((line) => line.err?.message === "sync iterator broke" && line.level === 50),
    );
    const late = await client.stream("GET", "/late");
    assert.equal(late.statusCode, 200);
    await assert.rejects(late.text(), { code: "ECONNRESET" });
  });

  test("a producer that throws mid-stream gives a truncated transfer and a log line with the request id", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get(
      "/fails",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "row 1\n";
            await sleep(20);
            throw new Error("database went away");
          })(),
        ),
    );
    app.get("/after", () => "still serving");
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/fails");
    const requestId = stream.headers["x-request-id"];
    const iterator = stream.lines();
    assert.equal((await iterator.next()).value, "row 1");
    await assert.rejects(
      iterator.next(),
      (error: NodeJS.ErrnoException) => error.code === "ECONNRESET",
    );
    assert.equal(stream.complete, false, "no chunked terminator was sent");
    const logged = lines.find((line) => line.reqId === requestId && line.level === 50);
    assert.ok(logged, "error logged with the request id");
    assert.match(logged.err?.message ?? "", /database went away/);
    assert.equal((await client.get("/after")).text(), "still serving");
  });

  test("fetch sees the throwing producer's response as an error, not a clean end", async () => {
    const app = quietApp();
    app.get(
      "/fails",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "partial";
            throw new Error("boom");
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const response = await fetch(`${client.url}/fails`);
    await assert.rejects(response.text(), /terminated/);
  });

  test("an item that is not bytes aborts the stream with a clear log and runs the finally", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let finallyRan = false;
    app.get(
      "/objects",
      () =>
        new StreamingResponse(
          (function* () {
            try {
              yield "ok\n";
              yield { not: "bytes" } as unknown as string;
            } finally {
              finallyRan = true;
            }
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/objects");
    await assert.rejects(stream.text());
    assert.equal(finallyRan, true);
    assert.ok(lines.some((line) => /use ndjson\(\)/.test(line.err?.message ?? "")));
  });

  test("a source that is not iterable is 500 before anything is sent", async () => {
    const app = quietApp();
    app.get("/bad", () => new StreamingResponse({} as never));
    await using client = await TestClient.start(app);
    const res = await client.get("/bad");
    assert.equal(res.statusCode, 500);
  });

  test("the StreamingResponse constructor refuses a missing source", () => {
    assert.throws(() => new StreamingResponse(undefined as never), TypeError);
  });
});

describe("streaming responses: sources and encodings", () => {
  test("Node Readable, web ReadableStream, arrays, mixed strings and bytes, returned async generators", async () => {
    const app = quietApp();
    app.get("/readable", () => new StreamingResponse(Readable.from(["a", "b", "c"])));
    app.get(
      "/web",
      () =>
        new StreamingResponse(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("web-"));
              controller.enqueue(new TextEncoder().encode("stream"));
              controller.close();
            },
          }),
        ),
    );
    app.get("/array", () => new StreamingResponse(["x", new Uint8Array([0x79]), "z"]));
    app.get("/generator", async function* () {
      yield "from ";
      yield "generator";
    });
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/readable")).text(), "abc");
    assert.equal((await client.get("/web")).text(), "web-stream");
    assert.equal((await client.get("/array")).text(), "xyz");
    const generated = await client.get("/generator");
    assert.equal(generated.text(), "from generator");
    assert.equal(generated.headers["transfer-encoding"], "chunked");
  });

  test("multi-byte characters split across chunks survive", async () => {
    const app = quietApp();
    const bytes = Buffer.from("héllo wörld ✓");
    app.get(
      "/split",
      () => new StreamingResponse([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]),
    );
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/split")).text(), "héllo wörld ✓");
  });

  test("HEAD sends the head and never starts the producer", async () => {
    const app = quietApp();
    let started = false;
    app.get(
      "/stream",
      () =>
        new StreamingResponse(
          (async function* () {
            started = true;
            yield "body";
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const res = await client.head("/stream");
    assert.equal(res.statusCode, 200);
    assert.equal(res.bytes().length, 0);
    assert.equal(started, false);
  });

  test("the connection is reused after a stream ends cleanly", async () => {
    const app = quietApp();
    app.get("/s", () => new StreamingResponse(["one", "two"]));
    await using client = await TestClient.start(app);
    const ports = new Set<number>();
    app.use(async (req, next) => {
      ports.add(req.raw.socket.remotePort ?? 0);
      return next();
    });
    for (let i = 0; i < 3; i++) assert.equal((await client.get("/s")).text(), "onetwo");
    assert.equal(ports.size, 1, "one keep-alive connection served the three streams");
  });

  test("small chunks produced in one tick are coalesced into few HTTP chunks", async () => {
    const app = quietApp();
    const count = 10_000;
    app.get(
      "/many",
      () => new StreamingResponse(Array.from({ length: count }, (_, i) => `${i}\n`)),
    );
    await using client = await TestClient.start(app);
    const request = "GET /many HTTP/1.1\r\nHost: x\r\n\r\n";
    const raw = await rawExchange(portOf(client.url), request, (received) =>
      received.endsWith("\r\n0\r\n\r\n"),
    );
    const { chunks, body } = decodeChunked(raw);
    assert.equal(body.split("\n").length - 1, count);
    assert.ok(chunks < 10, `${count} items were sent in ${chunks} chunks`);
  });

  test("chunks framed by sluice carry their UTF-8 byte count: text, bytes, mixed batches, near the 16 KiB limit", async () => {
    const app = quietApp();
    const wide = "é".repeat(16 * 1024 - 1); // within the limit in characters, twice that in bytes
    const shared = Buffer.from("shared ✓\n");
    const pieces: (string | Uint8Array)[][] = [
      ["alone é\n"], // one text chunk in a tick
      ["a ✓\n", "b ✓\n", "c ✓\n"], // text produced in one tick: one chunk
      [shared, Buffer.from("own\n"), "text ✓\n"], // bytes and text in one tick
      [shared], // a byte buffer sent again: its framing is reused
      [wide],
      [wide, "after\n"],
    ];
    app.get("/framed", async function* () {
      for (const tick of pieces) {
        for (const piece of tick) yield piece;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
    const expected = Buffer.concat(
      pieces.flat().map((piece) => (typeof piece === "string" ? Buffer.from(piece) : piece)),
    ).toString("utf8");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/framed")).text(), expected);
    const raw = await rawExchange(
      portOf(client.url),
      "GET /framed HTTP/1.1\r\nHost: x\r\n\r\n",
      (received) => received.endsWith("\r\n0\r\n\r\n"),
    );
    const { body } = decodeChunked(raw); // latin1: sizes count bytes
    assert.equal(Buffer.from(body, "latin1").toString("utf8"), expected);
  });
});

describe("ndjson()", () => {
  test("streams each object as one JSON line with the NDJSON content type", async () => {
    const app = quietApp();
    app.get("/export", () =>
      ndjson(
        (function* () {
          for (let i = 0; i < 1000; i++) yield { id: i, name: `row-${i}`, tags: ["a\nb"] };
        })(),
      ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/export");
    assert.equal(stream.headers["content-type"], "application/x-ndjson; charset=utf-8");
    const rows = [];
    for await (const line of stream.lines()) rows.push(JSON.parse(line));
    assert.equal(rows.length, 1000);
    assert.deepEqual(rows[999], { id: 999, name: "row-999", tags: ["a\nb"] });
  });

  test("works with async sources and keeps status and headers", async () => {
    const app = quietApp();
    app.get("/async", () =>
      ndjson(
        (async function* () {
          yield { a: 1 };
          await sleep(5);
          yield { b: 2 };
        })(),
        { statusCode: 206, headers: { "x-rows": "2" } },
      ),
    );
    await using client = await TestClient.start(app);
    const res = await client.get("/async");
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers["x-rows"], "2");
    assert.equal(res.text(), '{"a":1}\n{"b":2}\n');
  });

  test("an item that cannot be serialised truncates the stream after the rows before it", async () => {
    const app = quietApp();
    app.get("/bad", () => ndjson([{ ok: 1 }, { n: 1n }]));
    app.get("/undef", () => ndjson([{ ok: 1 }, undefined]));
    await using client = await TestClient.start(app);
    for (const path of ["/bad", "/undef"]) {
      const stream = await client.stream("GET", path);
      const lines = stream.lines();
      assert.equal((await lines.next()).value, '{"ok":1}');
      await assert.rejects(
        lines.next(),
        (error: NodeJS.ErrnoException) => error.code === "ECONNRESET",
      );
    }
  });
});
