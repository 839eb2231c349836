import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, type ReadStream } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { describe, test } from "node:test";
import { App, ndjson, StreamingResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { decodeChunked, portOf, rawExchange } from "./support/raw-http.js";
import { sleep, waitFor } from "./support/wait.js";

describe("producers that wait for I/O between batches", () => {
  test("a paged export (20 KB pages, a timer wait between them) is delivered completely", async () => {
    const app = quietApp();
    const pages = 40;
    const rowsPerPage = 300;
    app.get("/export", () =>
      ndjson(
        (async function* () {
          for (let page = 0; page < pages; page++) {
            await sleep(2); // the database round trip
            for (let i = 0; i < rowsPerPage; i++) yield { page, i, pad: "x".repeat(40) };
          }
        })(),
      ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/export");
    let rows = 0;
    for await (const _line of stream.lines()) rows++;
    assert.equal(rows, pages * rowsPerPage);
  });

  test("a large chunk, a pause, then small chunks: nothing stalls", async () => {
    const app = quietApp();
    app.get(
      "/mixed",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "a".repeat(20_000);
            await sleep(50);
            yield "b";
            await sleep(5);
            yield "c";
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const body = (await client.get("/mixed")).text();
    assert.equal(body.length, 20_002);
    assert.ok(body.endsWith("bc"));
  });
});

describe("Readable and web stream sources are cancelled when nobody will read them", () => {
  test("an idle Readable (a log tail) is destroyed within 1 s of the client leaving", async () => {
    const app = quietApp();
    const tail = new PassThrough();
    app.get("/tail", () => new StreamingResponse(tail));
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/tail");
    tail.write("line 1\n");
    assert.equal((await stream.lines().next()).value, "line 1");
    await stream.close();
    await waitFor(() => tail.destroyed, "the Readable to be destroyed", 1000);
  });

  test("an idle web ReadableStream is cancelled within 1 s of the client leaving", async () => {
    const app = quietApp();
    let cancelled = false;
    app.get(
      "/web",
      () =>
        new StreamingResponse(
          new ReadableStream<string>({
            start(controller) {
              controller.enqueue("first\n");
            },
            cancel() {
              cancelled = true;
            },
          }),
        ),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/web");
    assert.equal((await stream.lines().next()).value, "first");
    await stream.close();
    await waitFor(() => cancelled, "the web stream to be cancelled", 1000);
  });

  test("close() does not wait its timeout for an idle Readable", async () => {
    const app = quietApp();
    const tail = new PassThrough();
    app.get("/tail", () => new StreamingResponse(tail));
    const client = await TestClient.start(app);
    const stream = await client.stream("GET", "/tail");
    tail.write("x\n");
    await stream.lines().next();
    const started = performance.now();
    await app.close({ timeout: 5000 });
    assert.ok(performance.now() - started < 1000, "close waited for the idle source");
    assert.equal(tail.destroyed, true);
    await client.close();
  });

  test("HEAD and a refused head close a file stream (no descriptor leak)", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-"));
    t.after(() => rm(dir, { recursive: true }));
    const file = join(dir, "data.txt");
    await writeFile(file, "file contents\n");
    const opened: ReadStream[] = [];
    const open = () => {
      const stream = createReadStream(file);
      opened.push(stream);
      return stream;
    };
    const app = quietApp();
    app.get("/file", () => new StreamingResponse(open()));
    app.get("/bad-head", () => new StreamingResponse(open(), { headers: { "x-bad": "a\nb" } }));
    await using client = await TestClient.start(app);
    const fdsBefore = (await readdir("/proc/self/fd")).length;
    for (let i = 0; i < 20; i++) assert.equal((await client.head("/file")).statusCode, 200);
    for (let i = 0; i < 20; i++) assert.equal((await client.get("/bad-head")).statusCode, 500);
    await waitFor(
      () => opened.every((stream) => stream.destroyed),
      "every file stream to be destroyed",
    );
    await Promise.all(opened.filter((s) => !s.closed).map((s) => once(s, "close")));
    const fdsAfter = (await readdir("/proc/self/fd")).length;
    assert.ok(fdsAfter - fdsBefore < 5, `open descriptors grew by ${fdsAfter - fdsBefore}`);
    assert.equal((await client.get("/file")).text(), "file contents\n");
  });
});

describe("failures and fairness", () => {
  test("a failed stream is cut at once, even when the producer's finally is slow", async () => {
    const app = quietApp();
    let finallyDone = false;
    app.get(
      "/fails",
      () =>
        new StreamingResponse(
          (async function* () {
            try {
              for (let i = 0; ; i++) yield i;
            } finally {
              await sleep(2000);
              finallyDone = true;
            }
          })(),
          {
            encode: (i: number) => {
              if (i === 2) throw new Error("row 2 is broken");
              return `${i}\n`;
            },
          },
        ),
    );
    await using client = await TestClient.start(app);
    const started = performance.now();
    const stream = await client.stream("GET", "/fails");
    await assert.rejects(stream.text());
    assert.ok(performance.now() - started < 1000, "the client waited for the producer's finally");
    assert.equal(finallyDone, false);
  });

  test("a producer of empty chunks does not freeze the other connections", async () => {
    const app = quietApp();
    let producerDoneAt = 0;
    app.get(
      "/filtered",
      () =>
        new StreamingResponse(
          (function* () {
            for (let i = 0; i < 20_000_000; i++) yield i % 5_000_000 === 0 ? "kept\n" : "";
            producerDoneAt = performance.now();
          })(),
        ),
    );
    app.get("/ping", () => "pong");
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/filtered");
    await sleep(20);
    const ping = await client.get("/ping");
    const pongAt = performance.now();
    assert.equal(ping.text(), "pong");
    assert.equal((await stream.text()).split("\n").length - 1, 4);
    assert.ok(pongAt < producerDoneAt, "the ping waited for the whole producer");
  });

  test("a fast reader in another process does not let one stream hold the event loop", async () => {
    const app = quietApp();
    app.get("/export", () =>
      ndjson(
        (function* () {
          for (let i = 0; i < 1_000_000; i++) yield { id: i, name: `row-${i}` };
        })(),
      ),
    );
    await using client = await TestClient.start(app);
    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    const curl = spawn("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{size_download}",
      `${client.url}/export`,
    ]);
    let size = "";
    curl.stdout.on("data", (data) => {
      size += data;
    });
    const code = await new Promise((resolve) => curl.on("close", resolve));
    clearInterval(ticker);
    assert.equal(code, 0);
    assert.ok(Number(size) > 20_000_000, `curl read ${size} bytes`);
    assert.ok(longestGap < 100, `the event loop was blocked for ${longestGap.toFixed(0)} ms`);
  });

  test("an HTTP/1.0 peer (no chunked framing) sees a cut stream as a reset, not a clean end", async () => {
    const app = quietApp();
    app.get("/ok", () => new StreamingResponse(["a\n", "b\n"]));
    app.get(
      "/fails",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "a\n";
            await sleep(10);
            throw new Error("broken");
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const ending = (path: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(portOf(client.url), "127.0.0.1");
        socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
        socket.on("end", () => resolve("clean end"));
        socket.resume();
        socket.write(`GET ${path} HTTP/1.0\r\n\r\n`);
      });
    assert.equal(await ending("/ok"), "clean end");
    assert.equal(await ending("/fails"), "ECONNRESET");
  });
});

describe("return() is called only when the producer is stopped early", () => {
  /** An iterator over `rows` that counts its return() calls, like a pooled cursor would. */
  function cursor(rows: number) {
    const calls = { returns: 0 };
    let next = 0;
    const iterator: AsyncIterableIterator<string> = {
      [Symbol.asyncIterator]: () => iterator,
      next: async () =>
        next < rows ? { done: false, value: `row ${next++}\n` } : { done: true, value: undefined },
      return: async () => {
        calls.returns++;
        return { done: true, value: undefined };
      },
    };
    return { iterator, calls };
  }

  test("a source that ends by itself gets no return(); one cut short gets exactly one", async () => {
    const app = quietApp();
    const complete = cursor(3);
    const failing = cursor(3);
    app.get("/complete", () => new StreamingResponse(complete.iterator));
    app.get(
      "/failing",
      () =>
        new StreamingResponse(failing.iterator, {
          encode: (row: string) => {
            if (row.startsWith("row 1")) throw new Error("bad row");
            return row;
          },
        }),
    );
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/complete")).text(), "row 0\nrow 1\nrow 2\n");
    assert.equal(complete.calls.returns, 0);
    const stream = await client.stream("GET", "/failing");
    await assert.rejects(stream.text());
    await waitFor(() => failing.calls.returns === 1, "return() once");
  });
});

describe("encodings", () => {
  test("an encode() that returns something other than bytes truncates the stream; the process lives", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get(
      "/bad-encode",
      () =>
        new StreamingResponse(["a", "b"], {
          encode: (item) => (item === "a" ? "ok\n" : (42 as never)),
        }),
    );
    app.get("/ok", () => "alive");
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/bad-encode");
    await assert.rejects(stream.text());
    assert.ok(
      lines.some((line) =>
        /must be strings or Uint8Arrays, got number/.test(line.err?.message ?? ""),
      ),
    );
    assert.equal((await client.get("/ok")).text(), "alive");
  });

  test("many small Buffers produced in one tick are copied into few HTTP chunks", async () => {
    const app = quietApp();
    const count = 20_000;
    app.get(
      "/bytes",
      () => new StreamingResponse(Array.from({ length: count }, () => Buffer.from("ab"))),
    );
    await using client = await TestClient.start(app);
    const request = "GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n";
    const raw = await rawExchange(portOf(client.url), request, (received) =>
      received.endsWith("\r\n0\r\n\r\n"),
    );
    const { chunks, body } = decodeChunked(raw);
    assert.equal(body.length, count * 2);
    assert.ok(chunks < 10, `${count} buffers were sent in ${chunks} chunks`);
  });

  test("large Buffers are sent whole", async () => {
    const app = quietApp();
    const big = Buffer.alloc(100_000, 65);
    app.get("/big", () => new StreamingResponse([big, big, Buffer.from("end")]));
    await using client = await TestClient.start(app);
    const body = (await client.get("/big")).bytes();
    assert.equal(body.length, 200_003);
    assert.equal(body.subarray(-3).toString(), "end");
  });
});
