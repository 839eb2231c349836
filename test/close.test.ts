import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { App, StreamingResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { openConnections, quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { openSocket, portOf } from "./support/raw-http.js";
import { eventually, sleep, waitFor } from "./support/wait.js";

describe("app.close()", () => {
  test("aborts in-flight streams: producers run finally, clients see the stream cut, close resolves", async () => {
    const app = quietApp();
    const finallies: number[] = [];
    app.get(
      "/ticks/:n",
      (req) =>
        new StreamingResponse(
          (async function* () {
            try {
              while (!req.signal.aborted) {
                yield "tick\n";
                await sleep(10_000, undefined, { signal: req.signal }).catch(() => {});
              }
            } finally {
              finallies.push(Number(req.params.n));
            }
          })(),
        ),
    );
    const client = await TestClient.start(app);
    const streams = await Promise.all([1, 2, 3].map((n) => client.stream("GET", `/ticks/${n}`)));
    for (const stream of streams) assert.equal((await stream.lines().next()).value, "tick");
    const started = performance.now();
    await app.close({ timeout: 5000 });
    assert.ok(performance.now() - started < 1000, "close did not wait for the timeout");
    assert.deepEqual(finallies.sort(), [1, 2, 3]);
    for (const stream of streams) {
      await assert.rejects(
        stream.text(),
        (error: NodeJS.ErrnoException) => error.code === "ECONNRESET",
      );
      assert.equal(stream.complete, false);
    }
    await client.close();
  });

  test("lets an in-flight async handler finish and answers it with connection: close", async () => {
    const app = quietApp();
    const release = gate();
    let started = false;
    app.get("/slow", async () => {
      started = true;
      await release.opened;
      return { finished: true };
    });
    await using client = await TestClient.start(app);
    const pending = client.get("/slow");
    await waitFor(() => started, "the request to reach its handler");
    const closing = app.close({ timeout: 5000 });
    await sleep(50);
    release.open();
    const res = await pending;
    assert.deepEqual(res.json(), { finished: true });
    assert.equal(res.headers.connection, "close");
    await closing;
  });

  test("cuts what ignores the signal once the timeout passes", async () => {
    const app = quietApp();
    app.get(
      "/stuck",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "started\n";
            await new Promise(() => {}); // never settles, never looks at the signal
          })(),
        ),
    );
    const client = await TestClient.start(app);
    const stream = await client.stream("GET", "/stuck");
    await stream.lines().next();
    const started = performance.now();
    await app.close({ timeout: 300 });
    const took = performance.now() - started;
    assert.ok(took >= 250 && took < 2000, `close took ${took} ms`);
    await assert.rejects(stream.text());
    await client.close();
  });

  test("closes idle keep-alive connections at once, and is idempotent", async () => {
    const app = quietApp();
    app.get("/", () => "hi");
    const client = await TestClient.start(app);
    await client.get("/"); // leaves an idle keep-alive connection in the agent
    const started = performance.now();
    await Promise.all([app.close(), app.close()]);
    assert.ok(performance.now() - started < 1000);
    await client.close();
  });

  test("closes at once a connection that never sent a request (a browser's spare connection)", async () => {
    const app = quietApp();
    app.get("/", () => "hi");
    const client = await TestClient.start(app);
    const silent = openSocket(portOf(client.url));
    await new Promise((resolve) => silent.socket.once("connect", resolve));
    await eventually(async () => (await openConnections(app)) === 1, "the server to accept it");
    const silentClosed = new Promise((resolve) => silent.socket.once("close", resolve));
    const started = performance.now();
    await app.close({ timeout: 5000 });
    await silentClosed;
    assert.ok(performance.now() - started < 1000, "close did not wait for the silent connection");
    assert.equal(silent.received(), "");
    await client.close();
  });

  test("a request already sent but not read yet when close() starts gets a 503, not a reset", async () => {
    const app = quietApp();
    app.post("/order", async (req) => ({ body: await req.json() }));
    const client = await TestClient.start(app);
    const sockets = [1, 2, 3, 4, 5].map(() => openSocket(portOf(client.url)));
    await Promise.all(sockets.map(({ socket }) => new Promise((r) => socket.once("connect", r))));
    // accepted by the server, still silent
    await eventually(async () => (await openConnections(app)) === 5, "the server to accept all 5");
    const closed = sockets.map(({ socket }) => new Promise((r) => socket.once("close", r)));
    const body = '{"a":1}';
    for (const { socket } of sockets) {
      socket.write(
        `POST /order HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    }
    const closing = app.close({ timeout: 2000 }); // same tick: the requests are not read yet
    await Promise.all(closed);
    for (const { received } of sockets) assert.match(received(), /^HTTP\/1\.1 503 /);
    await closing;
    await client.close();
  });

  test("refuses new connections after close; listen() twice or after close throws", async () => {
    const app = quietApp();
    app.get("/", () => "hi");
    const server = await app.listen({ port: 0 });
    await assert.rejects(app.listen({ port: 0 }), /already listening/);
    await server.close();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(server.port, "127.0.0.1");
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      socket.on("connect", () => resolve("connected"));
    });
    assert.equal(refused, "ECONNREFUSED");
    await assert.rejects(app.listen({ port: 0 }), /has been closed/);
  });

  test("listen() reports the port and URL, and rejects a port in use", async () => {
    const first = quietApp();
    const server = await first.listen({ port: 0, host: "127.0.0.1" });
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal(first.server, server.server);
    await assert.rejects(quietApp().listen({ port: server.port, host: "127.0.0.1" }), /EADDRINUSE/);
    await first.close();
  });
});

describe("app.close() edge cases", () => {
  test("close() while listen() is still starting leaves no server listening", async () => {
    const app = quietApp();
    app.get("/", () => "hi");
    const listening = app.listen({ port: 0, host: "127.0.0.1" });
    const closed = app.close();
    await assert.rejects(listening, /closed while it was starting/);
    await closed;
    assert.equal(app.server?.listening, false);
  });

  test("a large response already handed to a slow reader is delivered whole before the timeout", async () => {
    const app = quietApp();
    const size = 8 * 1024 * 1024;
    app.get("/big", () => Buffer.alloc(size, 66));
    const client = await TestClient.start(app);
    const stream = await client.stream("GET", "/big");
    const closing = app.close({ timeout: 5000 });
    let received = 0;
    for await (const chunk of stream.chunks()) {
      received += chunk.length;
      await sleep(1); // a reader slower than the server
    }
    assert.equal(received, size);
    await closing;
    await client.close();
  });

  test("a handler that stops on req.signal while the app closes gets 503, logged as no crash", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let started = false;
    app.get("/wait", async (req) => {
      started = true;
      await sleep(10_000, undefined, { signal: req.signal });
      return "never";
    });
    const client = await TestClient.start(app);
    const pending = client.get("/wait");
    await waitFor(() => started, "the request to reach its handler");
    await app.close({ timeout: 2000 });
    const res = await pending;
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers.connection, "close");
    assert.equal(lines.filter((line) => line.level >= 50).length, 0, "nothing logged as an error");
    await client.close();
  });

  test("a real error during shutdown is still a logged 500, not hidden as a 503", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let started = false;
    app.get("/buggy", async (req) => {
      started = true;
      await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
      throw new TypeError("a real bug");
    });
    const client = await TestClient.start(app);
    const pending = client.get("/buggy");
    await waitFor(() => started, "the request to reach its handler");
    await app.close({ timeout: 2000 });
    assert.equal((await pending).statusCode, 500);
    assert.ok(lines.some((line) => line.level === 50 && line.err?.message === "a real bug"));
    await client.close();
  });

  test("a handler that stops on req.signal after the client left logs no error", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let started = false;
    let stopped = false;
    app.get("/wait", async (req) => {
      started = true;
      try {
        await sleep(10_000, undefined, { signal: req.signal });
      } finally {
        stopped = true;
      }
    });
    await using client = await TestClient.start(app);
    const socket = connect(portOf(client.url), "127.0.0.1");
    socket.write("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => started, "the request to reach its handler");
    socket.destroy();
    await waitFor(() => stopped, "the handler to stop");
    await sleep(20); // an error would be logged a turn or two after the handler settles
    assert.equal(lines.filter((line) => line.level >= 50).length, 0, "nothing logged as an error");
  });
});

/**
 * Starts a fixture server in its own process; resolves once it printed its port. The process
 * is killed after the test if it is still running, so a failed test cannot hold the file open.
 */
async function startFixture(t: TestContext, file: string) {
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let output = "";
  child.stdout.on("data", (data) => {
    output += data;
  });
  // A cold tsx start takes seconds on a busy 2-core machine; this bounds a hang, not speed.
  await waitFor(() => output.includes("port"), `${file} to listen`, 30_000);
  const { port } = JSON.parse(output.split("\n")[0]) as { port: number };
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, port, exited, output: () => output };
}

describe("handleSignals", () => {
  test("two apps with handleSignals: SIGTERM waits for both graceful closes before exiting", async (t) => {
    const server = await startFixture(t, "test/fixtures/two-apps-signal.ts");
    const { socket, received } = openSocket(server.port);
    socket.write("GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => received().includes("tick"), "the stream to start", 5000);
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    assert.match(server.output(), /B finally done/);
    socket.destroy();
  });

  test("SIGTERM during a stream closes gracefully: the producer's finally runs, exit code 0", async (t) => {
    const server = await startFixture(t, "test/fixtures/signal-server.ts");
    const { socket, received } = openSocket(server.port);
    socket.write("GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => received().includes("tick 2"), "a few ticks", 5000);
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    assert.match(server.output(), /producer finally ran/);
    socket.destroy();
  });
});
