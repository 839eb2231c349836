// The same behaviour over every protocol `listen()` serves: HTTP/1.1, HTTPS/1.1, HTTP/2 over
// TLS (ALPN h2) and h2c. Each describe() below runs once per protocol, with a client that
// speaks it (test/support/protocols.ts): routes, middleware, auth, CORS, request ids, body
// limits, errors, streams, NDJSON, SSE with keep-alive, Last-Event-ID and topics, cancelling,
// and the graceful close.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bearerAuth, cors, HttpError, ndjson, SseEvent, StreamingResponse } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { forEachProtocol, isHttp2, PROTOCOLS, serveOn } from "./support/protocols.js";
import { aborted, sleep, waitFor, within } from "./support/wait.js";

/** A promise and the function that resolves it: a producer waits on it between items. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

forEachProtocol(PROTOCOLS, (protocol) => {
  const http2 = isHttp2(protocol);

  test("routes with params answer JSON; the handler sees the protocol's version and Host", async () => {
    const app = quietApp();
    app.get("/users/:id", (req) => ({
      id: req.params.id,
      version: req.raw.httpVersion,
      host: req.header("host"),
    }));
    const client = await serveOn(app, protocol);
    const answer = await client.request("/users/42");
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    assert.deepEqual(answer.json(), {
      id: "42",
      version: http2 ? "2.0" : "1.1",
      host: new URL(client.url).host,
    });
  });

  test("middleware runs in order, and one that answers stops the chain", async () => {
    const app = quietApp();
    const order: string[] = [];
    app.use(async (req, next) => {
      order.push("first");
      if (req.path === "/blocked") return { blocked: true };
      return next();
    });
    app.use((_req, next) => {
      order.push("second");
      return next();
    });
    app.get("/open", () => {
      order.push("handler");
      return "ok";
    });
    app.get("/blocked", () => {
      order.push("blocked handler");
      return "never";
    });
    const client = await serveOn(app, protocol);
    assert.equal((await client.request("/open")).text(), "ok");
    assert.deepEqual(order, ["first", "second", "handler"]);
    order.length = 0;
    assert.deepEqual((await client.request("/blocked")).json(), { blocked: true });
    assert.deepEqual(order, ["first"]);
  });

  test("bearerAuth refuses a request without a token with 401 and lets a good one through", async () => {
    const app = quietApp();
    app.use(bearerAuth({ verify: (token) => (token === "good" ? { user: "ann" } : false) }));
    app.get("/me", (req) => req.state.auth);
    const client = await serveOn(app, protocol);
    const refused = await client.request("/me");
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers["www-authenticate"]), /^Bearer/);
    const wrong = await client.request("/me", { headers: { authorization: "Bearer bad" } });
    assert.equal(wrong.status, 401);
    const let_in = await client.request("/me", { headers: { authorization: "Bearer good" } });
    assert.equal(let_in.status, 200);
    assert.deepEqual(let_in.json(), { user: "ann" });
  });

  test("a CORS preflight is answered 204 with the allowed origin and methods", async () => {
    const app = quietApp();
    app.use(cors({ origin: "https://app.example", maxAge: 600 }));
    app.post("/items", () => ({ created: true }));
    const client = await serveOn(app, protocol);
    const preflight = await client.request("/items", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], "https://app.example");
    assert.match(String(preflight.headers["access-control-allow-methods"]), /POST/);
    assert.equal(preflight.headers["access-control-max-age"], "600");
  });

  test("a well-formed x-request-id is echoed, and one is made when none is sent", async () => {
    const app = quietApp();
    app.get("/id", (req) => ({ id: req.id }));
    const client = await serveOn(app, protocol);
    const given = await client.request("/id", { headers: { "x-request-id": "trace-123" } });
    assert.equal(given.headers["x-request-id"], "trace-123");
    assert.deepEqual(given.json(), { id: "trace-123" });
    const made = await client.request("/id");
    assert.match(String(made.headers["x-request-id"]), /^[0-9a-f]{8}-/);
  });

  test("a body over bodyLimit gets 413 (declared, and sent without a length); one within is read", async () => {
    const app = quietApp({ bodyLimit: 1024 });
    app.post("/echo", async (req) => ({ bytes: (await req.bytes()).length }));
    const client = await serveOn(app, protocol);
    const within = await client.request("/echo", { method: "POST", body: "x".repeat(1000) });
    assert.deepEqual(within.json(), { bytes: 1000 });
    const declared = await client.request("/echo", {
      method: "POST",
      headers: { "content-length": "5000" },
      body: "x".repeat(5000),
    });
    assert.equal(declared.status, 413);
    assert.match((declared.json() as { message: string }).message, /limit of 1024 bytes/);
    // No content-length: HTTP/1.1 sends it chunked, h2 in DATA frames.
    const streamed = await client.request("/echo", {
      method: "POST",
      headers: http2 ? {} : { "transfer-encoding": "chunked" },
      body: Buffer.alloc(5000),
    });
    assert.equal(streamed.status, 413);
    // The connection (or, over h2, the session) still serves requests.
    assert.equal((await client.request("/echo", { method: "POST", body: "ok" })).status, 200);
  });

  test("errors are JSON: 404 for no route, an HttpError's status, 500 naming only the request id", async () => {
    const app = quietApp();
    app.get("/teapot", () => {
      throw new HttpError(418, "short and stout");
    });
    app.get("/crash", () => {
      throw new Error("secret detail");
    });
    const client = await serveOn(app, protocol);
    const missing = await client.request("/nowhere");
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(missing.json() as object).sort(), [
      "error",
      "message",
      "requestId",
    ]);
    const teapot = await client.request("/teapot");
    assert.equal(teapot.status, 418);
    assert.equal((teapot.json() as { message: string }).message, "short and stout");
    const crash = await client.request("/crash");
    assert.equal(crash.status, 500);
    assert.ok(!crash.text().includes("secret detail"));
  });

  test("a stream's head is flushed before its first item, and items arrive as produced", async () => {
    const app = quietApp();
    const gates = [gate(), gate()];
    app.get(
      "/ticks",
      () =>
        new StreamingResponse(
          (async function* () {
            for (const [index, { opened }] of gates.entries()) {
              await opened;
              yield `tick ${index}\n`;
            }
          })(),
          { headers: { "content-type": "text/plain" } },
        ),
    );
    const client = await serveOn(app, protocol);
    const response = await within(client.open("/ticks"), "the head, with no item produced yet");
    assert.equal(response.status, 200);
    assert.equal(response.text, "");
    gates[0].open();
    await response.waitForText((text) => text === "tick 0\n", "the first item alone");
    gates[1].open();
    await response.waitForText((text) => text.endsWith("tick 1\n"), "the second item");
    assert.deepEqual(await response.ended, { complete: true });
  });

  test("ndjson() streams one JSON object per line", async () => {
    const app = quietApp();
    app.get("/rows", () => ndjson([{ n: 1 }, { n: 2 }, { n: 3 }]));
    const client = await serveOn(app, protocol);
    const answer = await client.request("/rows");
    assert.match(String(answer.headers["content-type"]), /^application\/x-ndjson/);
    assert.deepEqual(
      answer
        .text()
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    );
  });

  test("the client leaving (RST_STREAM over h2) cancels the producer within a second", async () => {
    const app = quietApp();
    let finallyRan = false;
    // Quiet between items: only the request's signal can tell it the client left.
    app.get(
      "/forever",
      (req) =>
        new StreamingResponse(
          (async function* () {
            try {
              for (;;) {
                yield "tick\n";
                await Promise.race([sleep(10_000), aborted(req.signal)]);
              }
            } finally {
              finallyRan = true;
            }
          })(),
        ),
    );
    const client = await serveOn(app, protocol);
    const response = await client.open("/forever");
    await response.waitForText((text) => text.includes("tick"), "a first tick");
    response.cancel();
    await waitFor(() => finallyRan, "the producer's finally", 1000);
  });

  test("the connection dropping cancels every producer on it within a second", async () => {
    const app = quietApp();
    let running = 0;
    app.get(
      "/forever",
      (req) =>
        new StreamingResponse(
          (async function* () {
            running++;
            try {
              for (;;) {
                yield "tick\n";
                await Promise.race([sleep(10_000), aborted(req.signal)]);
              }
            } finally {
              running--;
            }
          })(),
        ),
    );
    const client = await serveOn(app, protocol);
    const responses = await Promise.all([client.open("/forever"), client.open("/forever")]);
    await Promise.all(
      responses.map((response) => response.waitForText((text) => text !== "", "a tick")),
    );
    assert.equal(running, 2);
    client.close(); // over h2 both streams go with their one session
    await waitFor(() => running === 0, "both producers' finally", 1000);
  });

  test("SSE: keep-alive comments on an idle stream, then events", async () => {
    const app = quietApp();
    const go = gate();
    app.sse("/events", { keepAlive: 60 }, async function* () {
      await go.opened;
      yield new SseEvent({ data: "hello" });
    });
    const client = await serveOn(app, protocol);
    const response = await client.open("/events");
    assert.equal(response.status, 200);
    assert.match(String(response.headers["content-type"]), /^text\/event-stream/);
    await response.waitForText((text) => text.includes(":"), "a keep-alive comment", 2000);
    go.open();
    await response.waitForText((text) => text.includes("data: hello\n\n"), "the event");
  });

  test("SSE on a topic: a publish reaches the subscriber, and Last-Event-ID resumes after it", async () => {
    const app = quietApp();
    app.sse("/topics/:topic", (req) =>
      app.subscribe(req.params.topic, { lastEventId: req.lastEventId, signal: req.signal }),
    );
    const client = await serveOn(app, protocol);
    const live = await client.open("/topics/news");
    const first = await app.publish("news", { n: 1 });
    await live.waitForText((text) => text.includes(`id: ${first}`), "the live event");
    live.cancel();
    await app.publish("news", { n: 2 });
    await app.publish("news", { n: 3 });
    const resumed = await client.open("/topics/news", { headers: { "last-event-id": first } });
    const text = await resumed.waitForText(
      (received) => received.includes('{"n":3}'),
      "the two events missed",
    );
    assert.ok(!text.includes('{"n":1}'), "nothing before the Last-Event-ID again");
    assert.ok(text.indexOf('{"n":2}') < text.indexOf('{"n":3}'), "in order");
    resumed.cancel();
  });

  test("close(): an in-flight stream finishes within the timeout, then the close completes", async () => {
    const app = quietApp();
    const go = gate();
    app.get("/slow", async () => {
      await go.opened;
      return { done: true };
    });
    const client = await serveOn(app, protocol);
    const answering = client.request("/slow");
    await sleep(50);
    const closing = app.close({ timeout: 5000 });
    await sleep(50);
    go.open();
    const answer = await within(answering, "the in-flight request's answer");
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { done: true });
    await within(closing, "the close, once the in-flight request is done", 2000);
  });

  test("close() does not wait for an idle connection", async () => {
    const app = quietApp();
    app.get("/", () => "ok");
    const client = await serveOn(app, protocol);
    assert.equal((await client.request("/")).status, 200);
    const started = performance.now();
    await app.close({ timeout: 5000 });
    assert.ok(performance.now() - started < 1000, "closed without waiting for the idle client");
  });
});
