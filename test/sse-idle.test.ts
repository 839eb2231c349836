import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeResponse } from "../src/http/node-http.js";
import { type SluiceRequest, SseEvent } from "../src/index.js";
import { keepAliveLoad } from "../src/stream/keep-alive.js";
import { TestClient } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { quietApp } from "./support/apps.js";
import { openSocket, portOf } from "./support/raw-http.js";
import { aborted, sleep, waitFor } from "./support/wait.js";

const COMMENT = ": keep-alive\n\n";

function commentsIn(text: string): number {
  return text.split(COMMENT).length - 1;
}

describe("idle SSE streams: keep-alive comments from shared timers", () => {
  test("many idle streams each get their comments; streams that end (by the producer or the client) leave the timers, which then stop", async () => {
    const app = quietApp();
    const quit = gate();
    app.sse("/fast", { keepAlive: 40 }, async function* (req) {
      yield "start";
      await Promise.race([quit.opened, aborted(req.signal)]);
    });
    app.sse("/slow", { keepAlive: 90 }, async function* (req) {
      yield "start";
      await Promise.race([quit.opened, aborted(req.signal)]);
    });
    await using client = await TestClient.start(app);
    const port = portOf(client.url);
    const open = (path: string) => {
      const connection = openSocket(port);
      connection.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      return connection;
    };
    const fast = Array.from({ length: 30 }, () => open("/fast"));
    const slow = Array.from({ length: 10 }, () => open("/slow"));
    const all = [...fast, ...slow];
    await waitFor(
      () => all.every((connection) => connection.received().includes("data: start\n\n")),
      "every stream to start",
    );
    assert.deepEqual(keepAliveLoad(), { streams: 40, timers: 2 }, "one timer per keepAlive value");
    await waitFor(
      () => all.every((connection) => commentsIn(connection.received()) >= 3),
      "three comments on every stream",
      3000,
    );
    // Clients that leave: their streams leave the timer at once.
    for (const connection of fast.slice(0, 20)) connection.socket.destroy();
    await waitFor(
      () => keepAliveLoad().streams === 20,
      "the streams of the clients that left to go",
    );
    // Producers that end: their streams end cleanly and leave too; no timer is left running.
    quit.open();
    await waitFor(() => keepAliveLoad().timers === 0, "the last timer to stop");
    assert.deepEqual(keepAliveLoad(), { streams: 0, timers: 0 });
    assert.equal(app.connections.sse, 0);
    // The server is done with them; the last chunk may still be on its way to the client.
    const left = [...fast.slice(20), ...slow];
    await waitFor(
      () => left.every((connection) => connection.received().endsWith("\r\n0\r\n\r\n")),
      "every stream left to end cleanly on the client",
    );
    for (const connection of left) connection.socket.destroy();
  });

  test("a comment comes after keepAlive ms of silence, one tick (keepAlive / 2) late at most", async () => {
    const app = quietApp();
    app.sse("/idle", { keepAlive: 100 }, async function* (req) {
      yield "start";
      await aborted(req.signal);
    });
    await using client = await TestClient.start(app);
    const { socket, received } = openSocket(portOf(client.url));
    // Stamped as the bytes arrive: a comment is always a chunk of its own.
    const arrivals: number[] = [];
    socket.on("data", (data: string) => {
      if (data.includes("data: start") || data.includes(COMMENT)) arrivals.push(performance.now());
    });
    socket.write("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => commentsIn(received()) >= 4, "four comments", 3000);
    socket.destroy();
    assert.equal(arrivals.length, 5, "the event, then each comment apart");
    for (let i = 1; i < arrivals.length; i++) {
      const gap = arrivals[i] - arrivals[i - 1];
      // The lower bound is the contract (timers are rounded to whole ms; delivery adds
      // jitter); the upper one allows the tick and a busy machine.
      assert.ok(gap >= 100 - 5, `comment ${i} after ${gap.toFixed(0)} ms of silence`);
      assert.ok(gap < 150 + 60, `comment ${i} only after ${gap.toFixed(0)} ms`);
    }
  });

  test("a client that reads nothing gets no comment piled up behind the bytes it has not taken", async () => {
    const app = quietApp();
    const event = new SseEvent({ data: "x".repeat(16 * 1024) });
    let response: NodeResponse | undefined;
    let produced = 0;
    app.sse("/flood", { keepAlive: 20 }, async function* (req) {
      response = req.response;
      for (;;) {
        produced++;
        yield event;
      }
    });
    await using client = await TestClient.start(app);
    const { socket } = openSocket(portOf(client.url));
    socket.pause(); // never reads
    socket.write("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
    let previous = -1;
    await waitFor(
      () => {
        const stalled = produced > 10 && produced === previous;
        previous = produced;
        return stalled;
      },
      "the producer to stall against the full socket",
      5000,
    );
    // Silent since it stalled: only keep-alives could be written now, and must not be.
    const pending = () => (response?.writableLength ?? 0) + (response?.socket?.writableLength ?? 0);
    const before = pending();
    assert.ok(before > 0, "bytes wait for the client");
    await sleep(250); // a dozen keepAlive periods
    assert.equal(pending(), before, "nothing was queued for the client that does not read");
    assert.equal(keepAliveLoad().streams, 1);
    socket.destroy();
    await waitFor(() => keepAliveLoad().streams === 0, "the stream to leave the timers");
  });
});

describe("idle SSE streams: nothing made for what the handler does not use", () => {
  test("a producer that never reads req.signal gets no AbortSignal, yet is stopped (its finally runs) when the client leaves", async () => {
    const app = quietApp();
    let seen: SluiceRequest | undefined;
    const left = gate();
    let finallyRan = false;
    let disconnected: boolean | undefined;
    app.sse("/quiet", async function* (req) {
      seen = req;
      try {
        yield "hello";
        await left.opened; // something that knows nothing of the signal
      } finally {
        finallyRan = true;
        disconnected = await req.isDisconnected();
      }
    });
    await using client = await TestClient.start(app);
    const events = client.events("/quiet");
    await events.take(1);
    // An AbortSignal costs some 700 bytes for as long as the stream is open: the stream
    // itself hears the abort without one.
    const controllerOf = (req: SluiceRequest | undefined) =>
      (req as unknown as { controller?: AbortController }).controller;
    assert.equal(controllerOf(seen), undefined, "no AbortController while streaming");
    await events.close();
    await waitFor(() => app.connections.sse === 0, "the stream to end when its client left");
    assert.equal(controllerOf(seen), undefined, "nor after the abort");
    left.open();
    await waitFor(() => finallyRan, "the producer's finally", 1000);
    assert.equal(disconnected, true);
    assert.equal(seen?.signal.aborted, true, "a signal read late is aborted already");
  });
});
