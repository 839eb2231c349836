// Outside acceptance test for issue 2 (the `sluice` package's public API contract).
// Uses only the package's public entry points ("sluice", "sluice/testing"), node built-ins
// and the global fetch, over real sockets on 127.0.0.1.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import readline from "node:readline";
import { Readable } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { App, type AppOptions, HttpError, HttpResponse, ndjson, StreamingResponse } from "sluice";
import { TestClient } from "sluice/testing";
// Waiting helpers only: they import nothing from sluice, so this file still uses its public entry points alone.
import { waitFor, within } from "./support/wait.js";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;
const T = { timeout: 20_000 };

// ---------------------------------------------------------------- helpers

function deferred<V = void>(): { promise: Promise<V>; resolve: (value: V) => void } {
  let resolve!: (value: V) => void;
  const promise = new Promise<V>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Waits for an AbortSignal (bounded so a broken implementation cannot hang the test). */
function abortedOrTimeout(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

interface LogEntry {
  level: number;
  bindings: Record<string, unknown>;
  args: unknown[];
}

/** An App whose pino logger records every call (and writes nothing). */
function loggedApp(options: Omit<AppOptions, "logger"> = {}): { app: App; logs: LogEntry[] } {
  const logs: LogEntry[] = [];
  const app = new App({
    ...options,
    logger: {
      level: "info",
      hooks: {
        logMethod(args, _method, level) {
          logs.push({ level, bindings: this.bindings(), args: [...args] });
        },
      },
    },
  });
  return { app, logs };
}

function serialize(entry: LogEntry): string {
  return JSON.stringify(entry, (_key, value: unknown) =>
    value instanceof Error ? { message: value.message, stack: value.stack } : value,
  );
}

function quietApp(options: Omit<AppOptions, "logger"> = {}): App {
  return new App({ ...options, logger: false });
}

function portOf(client: TestClient): number {
  return Number(new URL(client.url).port);
}

/** Sends raw bytes on a fresh socket; collects the answer until the server closes it or `ms`. */
function rawExchange(
  port: number,
  request: string | Buffer,
  ms = 3000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    const parts: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(parts).toString("latin1"), closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on("data", (data: Buffer) => parts.push(data));
    socket.on("close", () => finish(true));
    socket.on("error", () => {});
    socket.write(request);
  });
}

function headOf(raw: string): Record<string, string> {
  const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
  const headers: Record<string, string> = {};
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

const CHUNKED_TERMINATOR = /\r\n0\r\n\r\n$/;

/** A client (run with `node -e`) that requests /flood, reads nothing for 1.5 s, then reads slowly. */
const SLOW_READER = `
const net = require("node:net");
const socket = net.connect(Number(process.env.PORT), process.env.HOST, () => {
  socket.write("GET /flood HTTP/1.1\\r\\nHost: " + process.env.HOST + "\\r\\nConnection: close\\r\\n\\r\\n");
  setTimeout(() => {
    process.stdout.write("reading\\n");
    let received = 0;
    socket.on("data", (data) => {
      received += data.length;
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on("end", () => process.stdout.write("received " + received + "\\n"));
  }, 1500);
});
socket.on("error", (error) => {
  process.stdout.write("error " + error.code + "\\n");
});
`;

async function collect(stream: AsyncIterable<string | Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of stream) out.push(item.toString());
  return out;
}

// ---------------------------------------------------------------- the code block

describe("the issue's code block, as written", () => {
  test("App, logger, middleware, routes, streams, listen({ port: 0 }) and close()", T, async () => {
    const app = new App();
    assert.equal(typeof app.logger.info, "function", "app.logger.info is a function");
    app.logger.info("ready");
    assert.equal(app.logger.levels.values.info, 30, "app.logger is a pino logger");
    assert.equal(typeof app.logger.child, "function", "app.logger has pino's child()");

    app.use(async (req, next) => {
      if (!req.header("authorization")) throw new HttpError(401, "missing credentials");
      req.state.user = "alice";
      return next();
    });
    app.get("/users/:id", (req) => ({ id: req.params.id, q: req.query.get("q") }));
    let posted: unknown;
    app.post("/items", async (req) => {
      const body = await req.json();
      posted = body;
    });
    async function* gen() {
      yield `${JSON.stringify({ n: 1 })}\n`;
      await sleep(20);
      yield `${JSON.stringify({ n: 2 })}\n`;
    }
    app.get(
      "/stream",
      () =>
        new StreamingResponse(gen(), {
          statusCode: 200,
          headers: { "Content-Type": "application/x-ndjson" },
        }),
    );
    async function* rows() {
      for (let i = 0; i < 3; i++) {
        await sleep(1);
        yield { row: i, name: `r${i}` };
      }
    }
    app.get("/export", () => ndjson(rows()));

    const server = await app.listen({ port: 0, host: HOST });
    let closed = false;
    try {
      assert.equal(typeof server.port, "number", "listen() -> { port }");
      assert.ok(server.port > 0, "port 0 picks a free port");
      assert.equal(typeof server.url, "string", "listen() -> { url }");
      assert.equal(new URL(server.url).hostname, HOST, "url names the host");
      assert.equal(Number(new URL(server.url).port), server.port, "url names the port");
      assert.equal(typeof server.close, "function", "listen() -> { close() }");

      const auth = { authorization: "Bearer token" };
      const refused = await fetch(`${server.url}/users/42?q=hi`);
      assert.equal(refused.status, 401, "middleware's HttpError(401) becomes a 401");
      const refusedBody = (await refused.json()) as { error: unknown; message: unknown };
      assert.ok("error" in refusedBody, "HttpError body has `error`");
      assert.equal(refusedBody.message, "missing credentials", "HttpError body has `message`");

      const user = await fetch(`${server.url}/users/42?q=hi`, { headers: auth });
      assert.equal(user.status, 200);
      assert.match(user.headers.get("content-type") ?? "", /json/);
      assert.deepEqual(await user.json(), { id: "42", q: "hi" });

      const created = await fetch(`${server.url}/items`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: "widget" }),
      });
      await created.arrayBuffer();
      assert.ok(created.status >= 200 && created.status < 300, `POST /items -> ${created.status}`);
      assert.deepEqual(posted, { name: "widget" }, "req.json() parsed the body");

      const stream = await fetch(`${server.url}/stream`, { headers: auth });
      assert.equal(stream.status, 200);
      assert.equal(stream.headers.get("content-type"), "application/x-ndjson");
      assert.equal(await stream.text(), '{"n":1}\n{"n":2}\n');

      const exported = await fetch(`${server.url}/export`, { headers: auth });
      assert.equal(exported.status, 200);
      assert.match(exported.headers.get("content-type") ?? "", /^application\/x-ndjson/);
      const lines = (await exported.text()).split("\n").filter((line) => line !== "");
      assert.deepEqual(
        lines.map((line) => JSON.parse(line)),
        [0, 1, 2].map((i) => ({ row: i, name: `r${i}` })),
        "ndjson(rows()) sends one JSON line per object",
      );

      await within(app.close(), "app.close()", 5000);
      closed = true;
      await assert.rejects(fetch(`${server.url}/users/1`, { headers: auth }), "closed app refuses");
    } finally {
      if (!closed) await app.close();
    }
  });

  test("listen() result's close() stops the server", T, async () => {
    const app = quietApp();
    app.get("/ping", () => "pong");
    const server = await app.listen({ port: 0, host: HOST });
    try {
      assert.equal(await (await fetch(`${server.url}/ping`)).text(), "pong");
      await within(server.close(), "server.close()", 5000);
      await assert.rejects(fetch(`${server.url}/ping`), "server closed by listen()'s close()");
    } finally {
      await app.close();
    }
  });

  test("SIGTERM handling is opt-in (handleSignals: true)", T, async () => {
    const before = process.listenerCount("SIGTERM");
    const plain = quietApp();
    await plain.listen({ port: 0, host: HOST });
    assert.equal(process.listenerCount("SIGTERM"), before, "no SIGTERM handler by default");
    await plain.close();

    const handling = quietApp();
    await handling.listen({ port: 0, host: HOST, handleSignals: true });
    try {
      assert.ok(
        process.listenerCount("SIGTERM") > before,
        "handleSignals: true installs a SIGTERM handler",
      );
    } finally {
      await handling.close();
    }
  });
});

// ---------------------------------------------------------------- routing

describe("routes", () => {
  test("get/post/put/patch/delete/head/options register a route per method", T, async () => {
    const app = quietApp();
    const seen: string[] = [];
    const handler = (req: { method: string }) => {
      seen.push(req.method);
      return `handled ${req.method}`;
    };
    app.get("/m", handler);
    app.post("/m", handler);
    app.put("/m", handler);
    app.patch("/m", handler);
    app.delete("/m", handler);
    app.head("/m", handler);
    app.options("/m", handler);
    await using client = await TestClient.start(app);
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      const res = await client.request(method, "/m");
      assert.equal(res.statusCode, 200, `${method} /m status`);
      assert.equal(res.text(), `handled ${method}`, `${method} /m reached its handler`);
    }
    const head = await client.request("HEAD", "/m");
    assert.equal(head.statusCode, 200, "HEAD /m status");
    assert.equal(head.bytes().length, 0, "HEAD has no body");
    assert.deepEqual(seen, ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]);
  });

  test("route(method, path, handler)", T, async () => {
    const app = quietApp();
    app.route("GET", "/r", () => "route get");
    app.route("DELETE", "/r", () => "route delete");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/r")).text(), "route get");
    assert.equal((await client.request("DELETE", "/r")).text(), "route delete");
  });

  test("path params", T, async () => {
    const app = quietApp();
    app.get("/users/:id/posts/:postId", (req) => req.params);
    await using client = await TestClient.start(app);
    const res = await client.get("/users/7/posts/abc");
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { id: "7", postId: "abc" });
  });

  test("wildcard (trailing *) matches any rest of the path", T, async () => {
    const app = quietApp();
    app.get("/files/*", (req) => ({ path: req.path }));
    await using client = await TestClient.start(app);
    for (const path of ["/files/a", "/files/a/b/c.txt"]) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 200, `GET ${path} matches /files/*`);
      assert.deepEqual(res.json(), { path });
    }
    assert.equal((await client.get("/other/a")).statusCode, 404);
  });

  test("404 for an unknown path, 405 with Allow for a known path and wrong method", T, async () => {
    const app = quietApp();
    app.get("/gp", () => "get");
    app.post("/gp", () => "post");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/nope")).statusCode, 404, "unknown path -> 404");
    const wrong = await client.request("DELETE", "/gp");
    assert.equal(wrong.statusCode, 405, "known path, wrong method -> 405");
    const allow = String(wrong.headers.allow ?? "")
      .split(",")
      .map((method) => method.trim().toUpperCase());
    assert.ok(allow.includes("GET"), `Allow lists GET (got "${wrong.headers.allow}")`);
    assert.ok(allow.includes("POST"), `Allow lists POST (got "${wrong.headers.allow}")`);
  });

  test("seed form addRoute({ method, path, handler_name, is_async }, handler)", T, async () => {
    const app = quietApp();
    app.addRoute(
      { method: "GET", path: "/stream", handler_name: "stream", is_async: true },
      async () => new StreamingResponse(["seed ", "route"]),
    );
    await using client = await TestClient.start(app);
    const res = await client.get("/stream");
    assert.equal(res.statusCode, 200);
    assert.equal(res.text(), "seed route");
  });
});

// ---------------------------------------------------------------- Request

describe("Request", () => {
  test("method, path, url, params, query, headers, header(), id, state", T, async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      req.state.user = "alice";
      return next();
    });
    app.get("/echo/:name", (req) => ({
      method: req.method,
      path: req.path,
      url: req.url,
      params: req.params,
      queryIsURLSearchParams: req.query instanceof URLSearchParams,
      xs: req.query.getAll("x"),
      y: req.query.get("y"),
      headers: req.headers,
      headerMixedCase: req.header("X-MIXED-case"),
      headerAbsent: req.header("x-absent") ?? null,
      id: req.id,
      user: req.state.user,
    }));
    await using client = await TestClient.start(app);
    const res = await client.get("/echo/bob?x=1&x=2&y=z", { headers: { "X-Mixed-Case": "Yes" } });
    assert.equal(res.statusCode, 200);
    const body = res.json<{
      method: string;
      path: string;
      url: string;
      params: Record<string, string>;
      queryIsURLSearchParams: boolean;
      xs: string[];
      y: string;
      headers: Record<string, string>;
      headerMixedCase: string;
      headerAbsent: null;
      id: string;
      user: string;
    }>();
    assert.equal(body.method, "GET", "req.method");
    assert.equal(body.path, "/echo/bob", "req.path (without the query)");
    assert.equal(body.url, "/echo/bob?x=1&x=2&y=z", "req.url (path and query as received)");
    assert.deepEqual(body.params, { name: "bob" }, "req.params");
    assert.equal(body.queryIsURLSearchParams, true, "req.query is a URLSearchParams");
    assert.deepEqual(body.xs, ["1", "2"], "req.query.getAll()");
    assert.equal(body.y, "z", "req.query.get()");
    assert.equal(body.headers["x-mixed-case"], "Yes", "req.headers is keyed in lower case");
    for (const key of Object.keys(body.headers)) {
      assert.equal(key, key.toLowerCase(), `req.headers key ${key} is lower case`);
    }
    assert.equal(body.headerMixedCase, "Yes", "req.header(name) is case-insensitive");
    assert.equal(body.headerAbsent, null, "req.header() of a missing header is undefined");
    assert.equal(typeof body.id, "string");
    assert.ok(body.id.length > 0, "req.id is not empty");
    assert.equal(res.headers["x-request-id"], body.id, "req.id is sent back as x-request-id");
    assert.equal(body.user, "alice", "req.state carries what middleware set");

    const again = await client.get("/echo/bob");
    assert.notEqual(again.json<{ id: string }>().id, body.id, "each request gets its own id");
  });

  test("params are percent-decoded (README)", T, async () => {
    const app = quietApp();
    app.get("/users/:id", (req) => req.params);
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/users/a%20b")).json(), { id: "a b" });
  });

  test("json(), text(), bytes()", T, async () => {
    const app = quietApp();
    app.post("/json", async (req) => ({ got: await req.json() }));
    app.post("/text", async (req) => `text:${await req.text()}`);
    app.post("/bytes", async (req) => {
      const bytes = await req.bytes();
      return { isUint8Array: bytes instanceof Uint8Array, values: [...bytes] };
    });
    await using client = await TestClient.start(app);
    const json = await client.post("/json", { json: { a: [1, 2], b: "c" } });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(json.json(), { got: { a: [1, 2], b: "c" } });
    const text = await client.post("/text", { body: "héllo wörld" });
    assert.equal(text.text(), "text:héllo wörld");
    const bytes = await client.post("/bytes", { body: new Uint8Array([0, 1, 2, 255]) });
    assert.deepEqual(bytes.json(), { isUint8Array: true, values: [0, 1, 2, 255] });
  });

  test("log is a child logger that carries the request id", T, async () => {
    const { app, logs } = loggedApp();
    app.get("/log", (req) => {
      req.log.info({ marker: "from-handler" }, "handler says hi");
      return req.id;
    });
    await using client = await TestClient.start(app);
    const res = await client.get("/log");
    const id = res.text();
    assert.equal(res.headers["x-request-id"], id);
    const entry = logs.find((e) => serialize(e).includes("from-handler"));
    assert.ok(entry, "req.log.info() reached the app's logger");
    assert.ok(serialize(entry).includes(id), `req.log line carries the request id ${id}`);
  });

  test("signal aborts and isDisconnected() turns true when the client disconnects", T, async () => {
    const app = quietApp();
    const started = deferred();
    let isPromise = false;
    let before: boolean | undefined;
    let after: boolean | undefined;
    let abortedAt = 0;
    app.get("/hang", async (req) => {
      const pending = req.isDisconnected();
      isPromise = pending instanceof Promise;
      before = await pending;
      started.resolve();
      await abortedOrTimeout(req.signal, 5000);
      if (req.signal.aborted) abortedAt = performance.now();
      after = await req.isDisconnected();
      return "too late";
    });
    await using client = await TestClient.start(app);
    const socket = net.connect(portOf(client), HOST);
    socket.on("error", () => {});
    socket.write(`GET /hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await within(started.promise, "handler start", 3000);
    const leftAt = performance.now();
    socket.destroy();
    await waitFor(() => abortedAt > 0, "req.signal to abort after the client left", 2000);
    assert.ok(abortedAt - leftAt < 1000, `signal aborted ${abortedAt - leftAt} ms after leaving`);
    await waitFor(() => after !== undefined, "isDisconnected() after abort", 1000);
    assert.equal(isPromise, true, "isDisconnected() returns a Promise");
    assert.equal(before, false, "isDisconnected() is false while the client is connected");
    assert.equal(after, true, "isDisconnected() is true once the client left");
  });

  test("signal aborts when the app closes", T, async () => {
    const app = quietApp();
    const started = deferred();
    let aborted: boolean | undefined;
    app.get("/hang", async (req) => {
      started.resolve();
      await abortedOrTimeout(req.signal, 5000);
      aborted = req.signal.aborted;
      return "closing";
    });
    const server = await app.listen({ port: 0, host: HOST });
    const pending = rawExchange(server.port, `GET /hang HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 5000);
    await within(started.promise, "handler start", 3000);
    const t0 = performance.now();
    await within(app.close({ timeout: 3000 }), "app.close()", 6000);
    assert.equal(aborted, true, "req.signal aborted by app.close()");
    assert.ok(performance.now() - t0 < 3000, "handler finished on abort, before the timeout");
    await pending;
  });
});

// ---------------------------------------------------------------- handler results

describe("what a handler returns", () => {
  test("plain value -> JSON 200; string -> text/plain; Buffer/Uint8Array -> bytes", T, async () => {
    const app = quietApp();
    app.get("/object", () => ({ a: 1, nested: { b: [true, null] } }));
    app.get("/array", () => [1, "two", { three: 3 }]);
    app.get("/string", () => "just text");
    app.get("/buffer", () => Buffer.from([1, 2, 3, 250]));
    app.get("/uint8", () => new Uint8Array([9, 8, 7]));
    await using client = await TestClient.start(app);

    const object = await client.get("/object");
    assert.equal(object.statusCode, 200);
    assert.match(String(object.headers["content-type"]), /^application\/json/);
    assert.deepEqual(object.json(), { a: 1, nested: { b: [true, null] } });

    const array = await client.get("/array");
    assert.equal(array.statusCode, 200);
    assert.match(String(array.headers["content-type"]), /^application\/json/);
    assert.deepEqual(array.json(), [1, "two", { three: 3 }]);

    const text = await client.get("/string");
    assert.equal(text.statusCode, 200);
    assert.match(String(text.headers["content-type"]), /^text\/plain/);
    assert.equal(text.text(), "just text");

    const buffer = await client.get("/buffer");
    assert.equal(buffer.statusCode, 200);
    assert.deepEqual([...buffer.bytes()], [1, 2, 3, 250]);

    const uint8 = await client.get("/uint8");
    assert.equal(uint8.statusCode, 200);
    assert.deepEqual([...uint8.bytes()], [9, 8, 7]);
  });

  test("HttpResponse: chosen status and headers", T, async () => {
    const app = quietApp();
    app.get(
      "/created",
      () => new HttpResponse({ created: true }, { statusCode: 201, headers: { "x-custom": "1" } }),
    );
    app.get(
      "/accepted",
      () => new HttpResponse("queued", { statusCode: 202, headers: { "retry-after": "5" } }),
    );
    await using client = await TestClient.start(app);
    const created = await client.get("/created");
    assert.equal(created.statusCode, 201);
    assert.equal(created.headers["x-custom"], "1");
    assert.deepEqual(created.json(), { created: true });
    const accepted = await client.get("/accepted");
    assert.equal(accepted.statusCode, 202);
    assert.equal(accepted.headers["retry-after"], "5");
    assert.equal(accepted.text(), "queued");
  });

  test(
    "HttpError(status, message, details?) thrown anywhere -> status + JSON { error, message }",
    T,
    async () => {
      const app = quietApp();
      app.use(async (req, next) => {
        if (req.path === "/mw") throw new HttpError(403, "no entry");
        return next();
      });
      app.get("/mw", () => "unreachable");
      app.get("/sync", () => {
        throw new HttpError(404, "no such thing");
      });
      app.get("/async", async () => {
        await sleep(1);
        throw new HttpError(422, "invalid input", { field: "email" });
      });
      await using client = await TestClient.start(app);
      for (const [path, status, message] of [
        ["/mw", 403, "no entry"],
        ["/sync", 404, "no such thing"],
        ["/async", 422, "invalid input"],
      ] as const) {
        const res = await client.get(path);
        assert.equal(res.statusCode, status, `${path} status`);
        assert.match(String(res.headers["content-type"]), /json/, `${path} content-type`);
        const body = res.json<Record<string, unknown>>();
        assert.ok("error" in body, `${path} body has error`);
        assert.equal(body.message, message, `${path} body message`);
      }
      const details = (await client.get("/async")).json<Record<string, unknown>>();
      assert.deepEqual(details.details, { field: "email" }, "details are in the body (README)");
    },
  );
});

// ---------------------------------------------------------------- StreamingResponse

describe("StreamingResponse", () => {
  test("sources: AsyncIterable, Iterable, Node Readable, web ReadableStream", T, async () => {
    const app = quietApp();
    const encoder = new TextEncoder();
    app.get(
      "/async-iterable",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "a1,";
            await sleep(1);
            yield encoder.encode("a2");
          })(),
        ),
    );
    app.get("/iterable", () => new StreamingResponse(["i1,", encoder.encode("i2")]));
    app.get(
      "/sync-generator",
      () =>
        new StreamingResponse(
          (function* () {
            yield "g1,";
            yield "g2";
          })(),
        ),
    );
    app.get("/readable", () => new StreamingResponse(Readable.from(["r1,", "r2"])));
    app.get(
      "/readable-bytes",
      () => new StreamingResponse(Readable.from([Buffer.from("b1,"), Buffer.from("b2")])),
    );
    app.get(
      "/web",
      () =>
        new StreamingResponse(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(encoder.encode("w1,"));
              controller.enqueue(encoder.encode("w2"));
              controller.close();
            },
          }),
        ),
    );
    await using client = await TestClient.start(app);
    for (const [path, expected] of [
      ["/async-iterable", "a1,a2"],
      ["/iterable", "i1,i2"],
      ["/sync-generator", "g1,g2"],
      ["/readable", "r1,r2"],
      ["/readable-bytes", "b1,b2"],
      ["/web", "w1,w2"],
    ]) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 200, `${path} status`);
      assert.equal(res.text(), expected, `${path} body`);
    }
  });

  test("statusCode and headers are sent", T, async () => {
    const app = quietApp();
    app.get(
      "/csv",
      () =>
        new StreamingResponse(["a,b\n", "1,2\n"], {
          statusCode: 201,
          headers: { "Content-Type": "text/csv", "X-Stream": "yes" },
        }),
    );
    await using client = await TestClient.start(app);
    const stream = await client.stream("GET", "/csv");
    assert.equal(stream.statusCode, 201);
    assert.equal(stream.headers["content-type"], "text/csv");
    assert.equal(stream.headers["x-stream"], "yes");
    assert.equal(await stream.text(), "a,b\n1,2\n");
  });

  test(
    "head is flushed before the first chunk; first chunk arrives before the generator ends (TestClient)",
    T,
    async () => {
      const app = quietApp();
      const gateFirst = deferred();
      const gateRest = deferred();
      let producedFirst = false;
      let finished = false;
      app.get(
        "/slow",
        () =>
          new StreamingResponse(
            (async function* () {
              await gateFirst.promise;
              producedFirst = true;
              yield "first\n";
              await gateRest.promise;
              yield "second\n";
              finished = true;
            })(),
            { headers: { "content-type": "text/plain" } },
          ),
      );
      await using client = await TestClient.start(app);
      try {
        const stream = await within(
          client.stream("GET", "/slow"),
          "response head while the producer has not produced its first chunk",
          2000,
        );
        assert.equal(producedFirst, false, "head arrived before the first chunk was produced");
        assert.equal(stream.statusCode, 200);
        gateFirst.resolve();
        const lines = stream.lines();
        const first = await within(lines.next(), "first line", 2000);
        assert.deepEqual(first, { value: "first", done: false });
        assert.equal(finished, false, "first chunk seen before the generator finished");
        gateRest.resolve();
        const second = await within(lines.next(), "second line", 2000);
        assert.deepEqual(second, { value: "second", done: false });
        assert.deepEqual(await within(lines.next(), "end", 2000), {
          value: undefined,
          done: true,
        });
        assert.equal(finished, true);
      } finally {
        gateFirst.resolve();
        gateRest.resolve();
      }
    },
  );

  test("undici (global fetch) sees the first chunk before the generator finishes", T, async () => {
    const app = quietApp();
    const gate = deferred();
    let finished = false;
    app.get(
      "/slow",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "first chunk\n";
            await gate.promise;
            yield "last chunk\n";
            finished = true;
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    try {
      const res = await within(fetch(`${client.url}/slow`), "fetch head", 2000);
      assert.equal(res.status, 200);
      assert.ok(res.body);
      const reader = res.body.getReader();
      const first = await within(reader.read(), "first chunk via fetch", 2000);
      assert.equal(new TextDecoder().decode(first.value), "first chunk\n");
      assert.equal(finished, false, "first chunk seen before the generator finished");
      gate.resolve();
      let rest = "";
      for (;;) {
        const { value, done } = await within(reader.read(), "rest via fetch", 2000);
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      assert.equal(rest, "last chunk\n");
    } finally {
      gate.resolve();
    }
  });

  test("backpressure: a fast 50 MB producer and a slow reader keep server memory bounded", {
    timeout: 60_000,
  }, async () => {
    const app = quietApp();
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    const total = 50 * MiB;
    let produced = 0;
    app.get(
      "/flood",
      () =>
        new StreamingResponse(
          (async function* () {
            while (produced < total) {
              produced += chunk.length;
              yield chunk;
            }
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    // The client runs in its own process so that only the server's memory is measured here.
    const reader = spawn(process.execPath, ["-e", SLOW_READER], {
      env: { ...process.env, PORT: String(portOf(client)), HOST },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const output = readline.createInterface({ input: reader.stdout });
    const lines = output[Symbol.asyncIterator]();
    const rssBefore = process.memoryUsage().rss;
    let maxRss = rssBefore;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }, 10);
    try {
      // The client sends the request and reads nothing for 1.5 s: the producer must stop.
      const reading = await within(lines.next(), "the reader's pause", 10_000);
      assert.equal(reading.value, "reading");
      const producedWhilePaused = produced;
      assert.ok(producedWhilePaused > 0, "the producer started");
      assert.ok(
        producedWhilePaused < 32 * MiB,
        `producer kept being pulled while the client read nothing: ${(producedWhilePaused / MiB).toFixed(1)} MB produced`,
      );
      // Then it reads slowly to the end.
      const done = await within(lines.next(), "slow reader to receive 50 MB", 45_000);
      const received = Number(String(done.value).replace("received ", ""));
      assert.ok(received >= total, `the slow reader received ${done.value}`);
      const growth = maxRss - rssBefore;
      assert.ok(growth < 32 * MiB, `server RSS grew by ${(growth / MiB).toFixed(1)} MB`);
    } finally {
      clearInterval(sampler);
      output.close();
      reader.kill();
    }
  });

  test(
    "client disconnect: req.signal aborts and the generator's finally runs within 1 s of TestClient stream close()",
    T,
    async () => {
      const app = quietApp();
      let finallyAt = 0;
      let abortedAt = 0;
      app.get("/ticks", (req) => {
        req.signal.addEventListener("abort", () => {
          abortedAt = performance.now();
        });
        return new StreamingResponse(
          (async function* () {
            try {
              for (let i = 0; i < 200; i++) {
                yield `tick ${i}\n`;
                await sleep(50);
              }
            } finally {
              finallyAt = performance.now();
            }
          })(),
        );
      });
      await using client = await TestClient.start(app);
      const stream = await client.stream("GET", "/ticks");
      const lines = stream.lines();
      assert.deepEqual(await within(lines.next(), "first tick", 2000), {
        value: "tick 0",
        done: false,
      });
      const closedAt = performance.now();
      await stream.close();
      await waitFor(() => finallyAt > 0, "the generator's finally", 3000);
      assert.ok(
        finallyAt - closedAt < 1000,
        `finally ran ${finallyAt - closedAt} ms after close()`,
      );
      await waitFor(() => abortedAt > 0, "req.signal to abort", 1000);
      assert.ok(
        abortedAt - closedAt < 1000,
        `signal aborted ${abortedAt - closedAt} ms after close()`,
      );
    },
  );

  test(
    "client disconnect: a hand-written async iterator's return() is called within 1 s",
    T,
    async () => {
      const app = quietApp();
      let returnedAt = 0;
      app.get("/iterator", () => {
        let i = 0;
        const iterator: AsyncIterableIterator<string> = {
          async next() {
            await sleep(50);
            return { value: `item ${i++}\n`, done: false };
          },
          async return() {
            returnedAt = performance.now();
            return { value: undefined, done: true };
          },
          [Symbol.asyncIterator]() {
            return this;
          },
        };
        return new StreamingResponse(iterator);
      });
      await using client = await TestClient.start(app);
      const stream = await client.stream("GET", "/iterator");
      await within(stream.lines().next(), "first item", 2000);
      const closedAt = performance.now();
      await stream.close();
      await waitFor(() => returnedAt > 0, "the iterator's return()", 3000);
      assert.ok(returnedAt - closedAt < 1000, `return() ${returnedAt - closedAt} ms after close()`);
    },
  );

  test(
    "a producer that throws mid-stream: truncated transfer, error logged with the request id",
    T,
    async () => {
      const { app, logs } = loggedApp();
      app.get(
        "/boom",
        () =>
          new StreamingResponse(
            (async function* () {
              yield "partial\n";
              await sleep(20);
              throw new Error("producer exploded");
            })(),
          ),
      );
      app.get(
        "/fine",
        () =>
          new StreamingResponse(
            (async function* () {
              yield "partial\n";
              await sleep(20);
            })(),
          ),
      );
      await using client = await TestClient.start(app);
      const port = portOf(client);
      const request = (path: string) =>
        `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`;

      // Control: a clean stream ends with the chunked terminator.
      const fine = await rawExchange(port, request("/fine"));
      assert.match(fine.text, CHUNKED_TERMINATOR, "a clean stream ends with 0\\r\\n\\r\\n");

      // Raw bytes: the data before the error, then no terminator.
      const raw = await rawExchange(port, request("/boom"));
      assert.equal(raw.closed, true, "the server closed the connection");
      assert.match(raw.text, /^HTTP\/1\.1 200/);
      assert.equal(headOf(raw.text)["transfer-encoding"], "chunked");
      assert.ok(raw.text.includes("partial\n"), "what was produced before the error is sent");
      assert.doesNotMatch(raw.text, CHUNKED_TERMINATOR, "no clean chunked end after an error");

      // TestClient: reading past the error rejects; the stream is not complete.
      const stream = await client.stream("GET", "/boom");
      const id = String(stream.headers["x-request-id"]);
      await assert.rejects(
        within(collect(stream.lines()), "truncated stream", 3000),
        "TestClient reading a truncated stream rejects",
      );
      assert.equal(stream.complete, false, "stream.complete is false (README)");

      // undici (fetch): the body read fails.
      const res = await fetch(`${client.url}/boom`);
      await assert.rejects(within(res.text(), "fetch body", 3000), "fetch sees a truncated body");

      await waitFor(
        () =>
          logs.some((e) => serialize(e).includes(id) && serialize(e).includes("producer exploded")),
        `an error log line with the request id ${id} and the producer's error`,
        2000,
      );
      const entry = logs.find(
        (e) => serialize(e).includes(id) && serialize(e).includes("producer exploded"),
      );
      assert.ok(entry && entry.level >= 50, "logged at error level");
    },
  );
});

// ---------------------------------------------------------------- app.close

describe("app.close({ timeout })", () => {
  test(
    "ends in-flight streams: signal aborts, finally runs, the client's stream ends",
    T,
    async () => {
      const app = quietApp();
      let finallyRan = false;
      let signalAborted = false;
      app.get("/forever", (req) => {
        req.signal.addEventListener("abort", () => {
          signalAborted = true;
        });
        return new StreamingResponse(
          (async function* () {
            try {
              for (;;) {
                yield "tick\n";
                await sleep(50);
              }
            } finally {
              finallyRan = true;
            }
          })(),
        );
      });
      const client = await TestClient.start(app);
      try {
        const stream = await client.stream("GET", "/forever");
        const lines = stream.lines();
        await within(lines.next(), "first tick", 2000);
        const t0 = performance.now();
        await within(app.close({ timeout: 3000 }), "app.close()", 6000);
        const took = performance.now() - t0;
        assert.equal(signalAborted, true, "req.signal aborted by close()");
        assert.equal(finallyRan, true, "the producer's finally ran");
        assert.ok(took < 3000, `close() waited for the producer, not the timeout (${took} ms)`);
        const ended = await within(
          collect(lines).then(
            () => "ended",
            () => "cut",
          ),
          "the client's stream to end after close()",
          2000,
        );
        assert.ok(ended === "ended" || ended === "cut");
        const port = portOf(client);
        const refused = await new Promise<string>((resolve) => {
          const socket = net.connect(port, HOST);
          socket.on("connect", () => {
            socket.destroy();
            resolve("connected");
          });
          socket.on("error", (error: NodeJS.ErrnoException) => resolve(String(error.code)));
        });
        assert.equal(refused, "ECONNREFUSED", "a closed app stops accepting");
      } finally {
        await client.close();
      }
    },
  );

  test("waits up to the timeout, then destroys what is left", T, async () => {
    const app = quietApp();
    const started = deferred();
    const release = deferred();
    app.get("/stubborn", async () => {
      started.resolve();
      await release.promise; // ignores req.signal
      return "finally";
    });
    const server = await app.listen({ port: 0, host: HOST });
    try {
      const pending = rawExchange(
        server.port,
        `GET /stubborn HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
        8000,
      );
      await within(started.promise, "handler start", 3000);
      const t0 = performance.now();
      await within(app.close({ timeout: 300 }), "app.close({ timeout: 300 })", 5000);
      const took = performance.now() - t0;
      assert.ok(took >= 250, `close() waited for the grace period (${took} ms)`);
      assert.ok(took < 2000, `close() gave up after the timeout (${took} ms)`);
      const answer = await pending;
      assert.equal(answer.closed, true, "the stubborn connection was destroyed");
    } finally {
      release.resolve();
    }
  });
});

// ---------------------------------------------------------------- bad input

describe("bad input gets a clear answer and never crashes the process", () => {
  test("malformed JSON body -> 400", T, async () => {
    const app = quietApp();
    app.post("/json", async (req) => ({ got: await req.json() }));
    await using client = await TestClient.start(app);
    const res = await client.post("/json", {
      body: '{"a":',
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.statusCode, 400);
    const ok = await client.post("/json", { json: { a: 1 } });
    assert.equal(ok.statusCode, 200, "the app still serves");
  });

  test("body over the default 1 MiB limit -> 413; exactly 1 MiB is accepted", T, async () => {
    const app = quietApp();
    app.post("/upload", async (req) => ({ length: (await req.bytes()).length }));
    await using client = await TestClient.start(app);
    const atLimit = await client.post("/upload", { body: new Uint8Array(MiB) });
    assert.equal(atLimit.statusCode, 200, "1 MiB is within the default limit");
    assert.deepEqual(atLimit.json(), { length: MiB });
    const over = await client.post("/upload", { body: new Uint8Array(MiB + 1) });
    assert.equal(over.statusCode, 413, "1 MiB + 1 byte is over the default limit");
  });

  test("the body limit is configurable", T, async () => {
    const app = quietApp({ bodyLimit: 16 });
    app.post("/upload", async (req) => (await req.text()).length);
    await using client = await TestClient.start(app);
    assert.equal((await client.post("/upload", { body: "x".repeat(16) })).statusCode, 200);
    assert.equal((await client.post("/upload", { body: "x".repeat(17) })).statusCode, 413);
  });

  test("413 without reading the whole body (Content-Length and chunked)", T, async () => {
    const app = quietApp();
    app.post("/upload", async (req) => ({ length: (await req.bytes()).length }));
    await using client = await TestClient.start(app);
    const port = portOf(client);

    // Declares 50 MiB, sends 256 KiB, then waits: the 413 must come without the rest.
    const declared = await rawExchange(
      port,
      Buffer.concat([
        Buffer.from(
          `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${50 * MiB}\r\n\r\n`,
        ),
        Buffer.alloc(256 * 1024, 0x61),
      ]),
      3000,
    );
    assert.match(declared.text, /^HTTP\/1\.1 413/, "413 before the declared body was sent");

    // Chunked upload that never ends: the 413 must come after a bounded amount.
    const chunked = await new Promise<{ text: string; sent: number }>((resolve) => {
      const socket = net.connect(port, HOST);
      let text = "";
      let sent = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, sent });
      };
      const timer = setTimeout(finish, 5000);
      socket.on("error", () => {});
      socket.on("close", finish);
      socket.on("data", (data: Buffer) => {
        text += data.toString("latin1");
        if (text.includes("\r\n\r\n")) finish();
      });
      socket.write(`POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const piece = Buffer.alloc(64 * 1024, 0x62);
      const frame = Buffer.concat([
        Buffer.from(`${piece.length.toString(16)}\r\n`),
        piece,
        Buffer.from("\r\n"),
      ]);
      const pump = () => {
        while (!done && sent < 16 * MiB) {
          sent += piece.length;
          if (!socket.write(frame)) {
            socket.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    assert.match(chunked.text, /^HTTP\/1\.1 413/, "413 for an endless chunked upload");
    assert.ok(chunked.sent < 16 * MiB, `answered after ${(chunked.sent / MiB).toFixed(1)} MB`);
  });

  test("bad percent-encoding in the path -> 400", T, async () => {
    const app = quietApp();
    app.get("/users/:id", (req) => req.params);
    await using client = await TestClient.start(app);
    for (const path of ["/users/%zz", "/users/%E0%A4%A", "/users/%"]) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 400, `GET ${path}`);
    }
    assert.equal((await client.get("/users/ok")).statusCode, 200, "the app still serves");
  });

  test("a handler that throws -> 500 with the request id in the body and the log", T, async () => {
    const { app, logs } = loggedApp();
    app.get("/sync", () => {
      throw new Error("kaboom sync");
    });
    app.get("/async", async () => {
      await sleep(1);
      throw new Error("kaboom async");
    });
    await using client = await TestClient.start(app);
    for (const [path, message] of [
      ["/sync", "kaboom sync"],
      ["/async", "kaboom async"],
    ]) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 500, `${path} status`);
      const id = String(res.headers["x-request-id"]);
      assert.ok(id.length > 0, "x-request-id is set on a 500");
      assert.ok(res.text().includes(id), `${path}: body ${res.text()} includes request id ${id}`);
      await waitFor(
        () => logs.some((e) => serialize(e).includes(id) && serialize(e).includes(message)),
        `a log line with ${id} and "${message}"`,
        2000,
      );
    }
    assert.equal((await client.get("/nope")).statusCode, 404, "the app still serves");
  });

  test("header/request timeouts are set by default", T, async () => {
    const app = quietApp();
    const server = await app.listen({ port: 0, host: HOST });
    try {
      assert.ok(server.server.headersTimeout > 0, "headersTimeout is set");
      assert.ok(server.server.headersTimeout <= 60_000, "headersTimeout is finite and modest");
      assert.ok(server.server.requestTimeout > 0, "requestTimeout is set");
    } finally {
      await app.close();
    }
  });

  test("a slowloris client is dropped (headersTimeout: 500)", T, async () => {
    const app = quietApp({ headersTimeout: 500 });
    app.get("/", () => "hi");
    await using client = await TestClient.start(app);
    const socket = net.connect(portOf(client), HOST);
    socket.on("error", () => {});
    await once(socket, "connect");
    const t0 = performance.now();
    socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n`);
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Drip-${i++}: y\r\n`);
    }, 100);
    let answer = "";
    socket.on("data", (data: Buffer) => {
      answer += data.toString("latin1");
    });
    try {
      await within(once(socket, "close"), "the slowloris connection to be dropped", 6000);
      const took = performance.now() - t0;
      assert.ok(took < 6000, `dropped after ${took} ms`);
      assert.ok(answer === "" || /^HTTP\/1\.1 408/.test(answer), `answer: ${answer.slice(0, 40)}`);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });
});

// ---------------------------------------------------------------- TestClient

describe("TestClient", () => {
  test("start(app), url, close()", T, async () => {
    const app = quietApp();
    app.get("/ping", () => "pong");
    const client = await TestClient.start(app);
    assert.match(client.url, /^http:\/\/127\.0\.0\.1:\d+$/, "url is its base URL on 127.0.0.1");
    assert.equal(await (await fetch(`${client.url}/ping`)).text(), "pong");
    await within(client.close(), "client.close()", 5000);
    await assert.rejects(fetch(`${client.url}/ping`), "the app is closed after client.close()");
  });

  test("works with await using", T, async () => {
    const app = quietApp();
    app.get("/ping", () => "pong");
    let url = "";
    {
      await using client = await TestClient.start(app);
      url = client.url;
      assert.equal((await client.get("/ping")).text(), "pong");
    }
    await assert.rejects(fetch(`${url}/ping`), "disposed at the end of the block");
  });

  test(
    "request(method, path, { headers, json, body }), get, post -> { statusCode, headers, text(), json(), bytes() }",
    T,
    async () => {
      const app = quietApp();
      const echo = async (req: {
        method: string;
        header(name: string): string | undefined;
        text(): Promise<string>;
      }) =>
        new HttpResponse(
          {
            method: req.method,
            h: req.header("x-h") ?? null,
            type: req.header("content-type") ?? null,
            body: await req.text(),
          },
          { statusCode: 201, headers: { "x-answer": "42" } },
        );
      app.put("/echo", echo);
      app.post("/echo", echo);
      app.get("/echo", echo);
      await using client = await TestClient.start(app);

      const put = await client.request("PUT", "/echo", { headers: { "x-h": "v" }, json: { a: 1 } });
      assert.equal(put.statusCode, 201);
      assert.equal(put.headers["x-answer"], "42", "headers are lower-case keyed");
      const putBody = put.json<{ method: string; h: string; type: string; body: string }>();
      assert.equal(putBody.method, "PUT");
      assert.equal(putBody.h, "v", "request headers are sent");
      assert.match(putBody.type, /^application\/json/, "json option sets content-type");
      assert.deepEqual(JSON.parse(putBody.body), { a: 1 }, "json option sends JSON");

      const post = await client.post("/echo", { body: "raw body" });
      assert.equal(post.json<{ body: string }>().body, "raw body", "body option sends raw");
      assert.equal(post.json<{ method: string }>().method, "POST");

      const get = await client.get("/echo", { headers: { "x-h": "g" } });
      assert.equal(get.json<{ h: string }>().h, "g");
      assert.equal(typeof get.text(), "string");
      assert.ok(get.text().startsWith("{"), "text() is the body as text");
      const bytes = get.bytes();
      assert.ok(bytes instanceof Uint8Array, "bytes() is a Uint8Array");
      assert.equal(Buffer.from(bytes).toString(), get.text());
    },
  );

  test(
    "stream(method, path, { headers }) -> { statusCode, headers, chunks(), lines(), text(), close() }",
    T,
    async () => {
      const app = quietApp();
      const gate = deferred();
      app.get(
        "/lines",
        (req) =>
          new StreamingResponse(
            (async function* () {
              yield `hello ${req.header("x-who") ?? "nobody"}\n`;
              yield "line 2\n";
              await gate.promise;
              yield "line 3\npartial";
              yield " end\n";
            })(),
            { statusCode: 200, headers: { "content-type": "text/plain", "x-kind": "lines" } },
          ),
      );
      await using client = await TestClient.start(app);
      try {
        const stream = await client.stream("GET", "/lines", { headers: { "x-who": "tester" } });
        assert.equal(stream.statusCode, 200);
        assert.equal(stream.headers["x-kind"], "lines");
        // chunks() yields as data arrives, before the producer has finished.
        const chunks = stream.chunks();
        const first = await within(chunks.next(), "first chunk", 2000);
        assert.equal(first.done, false);
        assert.ok(first.value, "chunks() yields a chunk");
        assert.ok(first.value.toString().startsWith("hello tester\n"), "request headers are sent");
        const seen = first.value.toString();
        // lines() shares the cursor; text() returns the rest once the stream ends.
        if (!seen.includes("line 2")) {
          const lines = stream.lines();
          assert.deepEqual(await within(lines.next(), "line 2", 2000), {
            value: "line 2",
            done: false,
          });
        }
        gate.resolve();
        const rest = await within(stream.text(), "text()", 2000);
        assert.equal(rest, "line 3\npartial end\n");

        const again = await client.stream("GET", "/lines");
        const lines = again.lines();
        const expected = ["hello nobody", "line 2", "line 3", "partial end"];
        for (const [index, value] of expected.entries()) {
          assert.deepEqual(await within(lines.next(), `line ${index + 1}`, 2000), {
            value,
            done: false,
          });
        }
        assert.deepEqual(await within(lines.next(), "end", 2000), {
          value: undefined,
          done: true,
        });
        await again.close();
      } finally {
        gate.resolve();
      }
    },
  );
});
