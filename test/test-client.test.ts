import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { StreamingResponse } from "../src/index.js";
import { TestClient, WebSocketUpgradeError } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { quietApp } from "./support/apps.js";
import { waitFor } from "./support/wait.js";

for (const http2 of [false, true]) {
  describe(http2 ? "TestClient over h2 (http2: true)" : "TestClient", () => {
    test("sends paths exactly as written: no URL normalisation, never another host", async () => {
      const app = quietApp();
      app.all("/*", (req) => ({ url: req.url }));
      await using client = await TestClient.start(app, { http2 });
      assert.equal((await client.get("//users/5")).json<{ url: string }>().url, "//users/5");
      assert.equal(
        (await client.get("/a/%2561/b", { query: { q: "1 2" } })).json<{ url: string }>().url,
        "/a/%2561/b?q=1+2",
      );
      // Dot segments reach the server as written (which refuses them: canonical-path.test.ts).
      for (const path of ["/static/../admin", "/a/%2e%2e/b"]) {
        const res = await client.get(path);
        assert.equal(res.statusCode, 400, path);
        assert.match(res.json<{ message: string }>().message, /\. or \.\. segment/, path);
      }
      await assert.rejects(client.get("users"), /must start with "\/"/);
    });

    test("a GET or DELETE with a body sends its length, so the connection stays usable", async () => {
      const app = quietApp();
      app.all("/echo", async (req) => ({ method: req.method, body: await req.text() }));
      await using client = await TestClient.start(app, { http2 });
      for (const method of ["GET", "DELETE", "GET"]) {
        const res = await client.request(method, "/echo", { json: { a: 1 } });
        assert.deepEqual(res.json(), { method, body: '{"a":1}' });
      }
      assert.deepEqual((await client.get("/echo")).json(), { method: "GET", body: "" });
    });

    test("events().take() gives up after its timeout, saying how many came, and closes the stream (the server sees the client leave)", async () => {
      const app = quietApp();
      let left = false;
      app.sse("/one", async function* (req) {
        try {
          yield { n: 1 };
          // Nothing more, until the client leaves.
          await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
        } finally {
          left = true;
        }
      });
      await using client = await TestClient.start(app, { http2 });
      const events = client.events("/one");
      const started = performance.now();
      await assert.rejects(
        events.take(2, { timeout: 200 }),
        /Timed out after 200 ms: 1 of 2 events came/,
      );
      assert.ok(performance.now() - started >= 190);
      await waitFor(() => left, "the producer to see the client leave");
    });

    test("chunks(), lines() and text() share one cursor: nothing is lost when switching", async () => {
      const app = quietApp();
      const second = gate();
      app.get(
        "/s",
        () =>
          new StreamingResponse(
            (async function* () {
              yield "one\ntwo\nthr";
              await second.opened;
              yield "ee\nfour\n";
            })(),
          ),
      );
      await using client = await TestClient.start(app, { http2 });
      const stream = await client.stream("GET", "/s");
      assert.equal((await stream.lines().next()).value, "one");
      second.open();
      const rest: string[] = [];
      for await (const chunk of stream.chunks()) rest.push(chunk.toString());
      assert.equal(rest.join(""), "two\nthree\nfour\n");
    });

    test("lines() keeps multi-byte characters split across chunks, and text() reads the rest", async () => {
      const app = quietApp();
      const bytes = Buffer.from("héllo\nwörld\nend");
      app.get(
        "/s",
        () =>
          new StreamingResponse([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)]),
      );
      await using client = await TestClient.start(app, { http2 });
      const stream = await client.stream("GET", "/s");
      assert.equal((await stream.lines().next()).value, "héllo");
      assert.equal(await stream.text(), "wörld\nend");
    });
  });
}

describe("TestClient over h2", () => {
  test("requests and streams are streams of one h2c connection", async () => {
    const app = quietApp();
    const sessions = new Set<unknown>();
    app.get("/version", (req) => {
      if ("stream" in req.raw) sessions.add(req.raw.stream.session);
      return req.raw.httpVersion;
    });
    await using client = await TestClient.start(app, { http2: true });
    const stream = await client.stream("GET", "/version");
    assert.equal(await stream.text(), "2.0");
    assert.equal((await client.get("/version")).text(), "2.0");
    assert.equal(sessions.size, 1, "one connection");
  });

  test("a stream the server cuts short rejects with ECONNRESET, as over HTTP/1.1", async () => {
    const app = quietApp();
    app.get(
      "/cut",
      () =>
        new StreamingResponse(
          (async function* () {
            yield "partial\n";
            throw new Error("producer failed");
          })(),
        ),
    );
    await using client = await TestClient.start(app, { http2: true });
    const stream = await client.stream("GET", "/cut");
    await assert.rejects(stream.text(), { code: "ECONNRESET" });
    assert.equal(stream.complete, false);
  });

  test("websocketConnect() opens the WebSocket on a stream of the h2 connection (RFC 8441)", async () => {
    const app = quietApp();
    app.websocket("/ws", { protocols: ["chat"] }, async (socket, request) => {
      await socket.send(`${request.method} over ${request.raw.httpVersion}`);
      for await (const message of socket) await socket.send(`echo ${message}`);
    });
    app.get("/plain", () => "plain");
    await using client = await TestClient.start(app, { http2: true });
    const socket = await client.websocketConnect("/ws", { protocols: ["chat"] });
    assert.equal(socket.protocol, "chat");
    assert.equal(await socket.receive(), "GET over 2.0");
    // Requests go on beside it, on the same connection.
    assert.equal((await client.get("/plain")).text(), "plain");
    await socket.send("hi");
    assert.equal(await socket.receive(), "echo hi");
    await socket.close();
  });

  test("websocketConnect() over h2 rejects with the refusal's status and body", async () => {
    const app = quietApp();
    app.websocket("/ws", async () => {});
    await using client = await TestClient.start(app, { http2: true });
    const error = await client.websocketConnect("/nowhere").catch((caught: unknown) => caught);
    assert.ok(error instanceof WebSocketUpgradeError, String(error));
    assert.equal(error.statusCode, 404);
    assert.match(error.json<{ message: string }>().message, /No WebSocket route for \/nowhere/);
  });
});
