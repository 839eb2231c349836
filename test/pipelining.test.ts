import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SseEvent, StreamingResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { decodeChunked, openSocket, portOf, rawExchange } from "./support/raw-http.js";
import { sleep, waitFor } from "./support/wait.js";

describe("pipelined requests", () => {
  test("a client that leaves aborts the queued (pipelined) request too, within 1 s", async () => {
    const app = quietApp();
    const finished: string[] = [];
    app.get(
      "/stream/:n",
      (req) =>
        new StreamingResponse(
          (async function* () {
            try {
              for (let i = 0; ; i++) {
                yield `${req.params.n}:${i}\n`;
                await sleep(5, undefined, { signal: req.signal });
              }
            } finally {
              finished.push(req.params.n);
            }
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const { socket, received } = openSocket(portOf(client.url));
    socket.write(
      "GET /stream/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /stream/2 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    await waitFor(() => received().includes("1:3"), "the first stream to flow");
    socket.destroy();
    await waitFor(() => finished.length === 2, "both producers to stop", 1000);
    assert.deepEqual(finished.sort(), ["1", "2"]);
  });

  test("30 pipelined async requests on one connection: all answered, no listener-leak warning", async (t) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    t.after(() => process.off("warning", onWarning));
    const app = quietApp();
    app.get("/slow", async () => {
      await sleep(20);
      return "x";
    });
    await using client = await TestClient.start(app);
    const { socket, received } = openSocket(portOf(client.url));
    socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".repeat(30));
    await waitFor(
      () => (received().match(/HTTP\/1\.1 200/g) ?? []).length === 30,
      "30 answers",
      5000,
    );
    socket.destroy();
    await sleep(10);
    assert.deepEqual(warnings, []);
  });

  test("garbage pipelined behind a pending async answer is never taken as that answer", async () => {
    const app = quietApp();
    app.get("/slow", async () => {
      await sleep(100);
      return "slow answer";
    });
    await using client = await TestClient.start(app);
    const { socket, received } = openSocket(portOf(client.url));
    socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\x01 / HTTP/1.1\r\n\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
    assert.doesNotMatch(received(), /^HTTP\/1\.1 400/);
    assert.equal((await client.get("/slow")).text(), "slow answer");
  });
});

describe("shutdown and keep-alive connections", () => {
  test("a request whose head is half received when close() starts still gets an answer", async () => {
    const app = quietApp();
    app.get("/", () => "hello");
    const client = await TestClient.start(app);
    const { socket, received } = openSocket(portOf(client.url));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => received().includes("hello"), "the first answer");
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n"); // head not finished yet
    await sleep(20);
    const closing = app.close({ timeout: 2000 });
    await sleep(100); // longer than the idle sweep
    socket.write("\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
    await closing;
    const answers = received().match(/HTTP\/1\.1 \d+/g) ?? [];
    assert.deepEqual(answers, ["HTTP/1.1 200", "HTTP/1.1 503"]);
    assert.match(received(), /connection: close/i);
    await client.close();
  });

  test("an SSE stream pipelined behind a slow answer starts after it, its events framed whole (shared event bytes are not written ahead)", async () => {
    const app = quietApp();
    const shared = new SseEvent({ id: "1", data: "shared" });
    app.get("/slow", async () => {
      await sleep(150);
      return { slow: true };
    });
    app.sse("/events", async function* () {
      yield shared;
      yield new SseEvent({ id: "2", data: "own" });
    });
    await using client = await TestClient.start(app);
    const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const answer = await rawExchange(
      portOf(client.url),
      request("/slow") + request("/events"),
      (received) => received.includes("\r\n0\r\n\r\n"),
    );
    const slowEnd = answer.indexOf('{"slow":true}');
    const sseStart = answer.indexOf("HTTP/1.1 200", 1);
    assert.ok(
      slowEnd > 0 && sseStart > slowEnd,
      `the SSE answer follows the first one:\n${answer}`,
    );
    const body = decodeChunked(answer.slice(answer.indexOf("\r\n\r\n", sseStart) + 4)).body;
    assert.equal(body, "id: 1\ndata: shared\n\nid: 2\ndata: own\n\n");
  });
});
