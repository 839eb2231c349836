import assert from "node:assert/strict";
import { type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { type App, type AppOptions, HttpError, HttpResponse, SseResponse } from "../src/index.js";
import { TestClient, type TestWebSocket } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { sleep, waitFor, within } from "./support/wait.js";

const GLOBAL_MESSAGE = "Too many connections; try again later";
const ADDRESS_MESSAGE = "Too many connections from your address; try again later";

/**
 * Routes for the caps: `/events` streams topic "t" until the client leaves, `/ws` echoes,
 * `/ping` is plain HTTP.
 */
function limitedApp(options: Parameters<typeof quietApp>[0]): App {
  const app = quietApp(options);
  app.sse("/events", (req) => app.subscribe("t", { signal: req.signal }));
  app.websocket("/ws", async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  app.get("/ping", () => "pong");
  return app;
}

/** Opens an SSE stream and asserts it was accepted (200 event stream). */
async function openStream(client: TestClient, path = "/events") {
  const events = client.events(path);
  const head = await within(events.response, `the head of ${path}`);
  assert.equal(head.statusCode, 200, `${path} should have been accepted`);
  return events;
}

/** Asserts a refused SSE stream: 503, Retry-After, a JSON body naming the cap. */
async function assertStreamRefused(client: TestClient, message: string, path = "/events") {
  const res = await client.get(path, { headers: { accept: "text/event-stream" } });
  assert.equal(res.statusCode, 503, `${path} should have been refused`);
  assert.equal(res.headers["retry-after"], "5");
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  assert.equal(res.json<{ message: string }>().message, message);
}

/** Asserts a WebSocket that is accepted, then closed at once with 1013 and the cap's reason. */
async function assertSocketRefused(client: TestClient, reason: string) {
  const socket = await client.websocketConnect("/ws");
  assert.deepEqual(await within(socket.closed, "the refused socket's close"), {
    code: 1013,
    reason,
  });
}

async function echoes(socket: TestWebSocket, text: string): Promise<void> {
  await socket.send(text);
  assert.equal(await within(socket.receive(), `the echo of ${text}`), text);
}

describe("connection caps: maxConnections", () => {
  test("at the cap, a new SSE stream gets 503 + Retry-After and a new WebSocket 1013; open ones keep working", async () => {
    const app = limitedApp({ maxConnections: 3 });
    await using client = await TestClient.start(app);
    const first = await openStream(client);
    const second = await openStream(client);
    const socket = await client.websocketConnect("/ws");
    await waitFor(() => app.connections.sse === 2 && app.connections.websocket === 1, "3 open");

    await assertStreamRefused(client, GLOBAL_MESSAGE);
    await assertSocketRefused(client, GLOBAL_MESSAGE);
    assert.deepEqual(app.connections, { websocket: 1, sse: 2 }, "refused ones are not counted");

    // The connections that were let in are untouched by the refusals.
    await echoes(socket, "still here");
    await app.publish("t", { n: 1 });
    for (const events of [first, second]) {
      const [event] = await within(events.take(1), "an event on an open stream");
      assert.deepEqual(JSON.parse(event.data), { n: 1 });
    }
  });

  test("plain HTTP requests are not counted, and do not take places", async () => {
    const app = limitedApp({ maxConnections: 1, maxConnectionsPerIp: 1 });
    await using client = await TestClient.start(app);
    await openStream(client);
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.get("/ping")));
    assert.deepEqual(
      answers.map((res) => res.statusCode),
      Array(20).fill(200),
    );
    await assertStreamRefused(client, GLOBAL_MESSAGE);
    assert.deepEqual(app.connections, { websocket: 0, sse: 1 });
  });

  test("SSE and WebSockets share the cap", async () => {
    const app = limitedApp({ maxConnections: 1 });
    await using client = await TestClient.start(app);
    const socket = await client.websocketConnect("/ws");
    await echoes(socket, "in");
    await assertStreamRefused(client, GLOBAL_MESSAGE);
    await socket.close();
    await waitFor(() => app.connections.websocket === 0, "the socket to close");
    const events = await openStream(client);
    await assertSocketRefused(client, GLOBAL_MESSAGE);
    await events.close();
  });

  test("concurrent arrivals cannot overshoot the cap while their handlers are still starting", async () => {
    const app = quietApp({ maxConnections: 3 });
    app.sse("/slow", async (req) => {
      await sleep(30); // every request is past the check before any stream has started
      return app.subscribe("t", { signal: req.signal });
    });
    await using client = await TestClient.start(app);
    const opened = Array.from({ length: 10 }, () => client.events("/slow"));
    const statuses = await Promise.all(
      opened.map(async (events) => (await events.response).statusCode),
    );
    assert.equal(statuses.filter((status) => status === 200).length, 3);
    assert.equal(statuses.filter((status) => status === 503).length, 7);
    await waitFor(() => app.connections.sse === 3, "the 3 streams");
  });

  test("an SseResponse from another route (a POST) is capped too, and its producer never runs", async () => {
    const app = quietApp({ maxConnections: 1 });
    let started = 0;
    let finished = 0;
    app.post("/stream", (req) => {
      async function* events() {
        started++;
        try {
          yield { hello: true };
          await sleep(60_000, undefined, { signal: req.signal }).catch(() => {});
        } finally {
          finished++;
        }
      }
      return new SseResponse(events());
    });
    await using client = await TestClient.start(app);
    const open = await client.stream("POST", "/stream");
    assert.equal(open.statusCode, 200);
    const refused = await client.post("/stream");
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers["retry-after"], "5");
    assert.equal(refused.json<{ message: string }>().message, GLOBAL_MESSAGE);
    assert.equal(started, 1, "the refused stream's producer did not start");
    await open.close();
    await waitFor(() => finished === 1, "the open stream's finally");
    const again = await client.stream("POST", "/stream");
    assert.equal(again.statusCode, 200, "the place came back");
    await again.close();
  });

  test("HEAD on an SSE route at the cap gets its head: nothing long-lived is opened", async () => {
    const app = limitedApp({ maxConnections: 1 });
    await using client = await TestClient.start(app);
    await openStream(client);
    const head = await client.head("/events");
    assert.equal(head.statusCode, 200);
    assert.match(String(head.headers["content-type"]), /^text\/event-stream/);
  });
});

describe("connection caps: places come back however a connection ends", () => {
  test("SSE: the client leaves, the server ends the stream, the handler throws or answers without a stream", async () => {
    const app = quietApp({ maxConnections: 1 });
    app.sse("/events", (req) => app.subscribe("t", { signal: req.signal }));
    app.sse("/short", function* () {
      yield "one";
    });
    app.sse("/refuse", () => {
      throw new HttpError(403, "no");
    });
    app.sse("/crash", async function* () {
      yield "before";
      throw new Error("producer failed");
    });
    app.sse("/crash-at-once", () => {
      throw new Error("handler failed");
    });
    app.sse("/no-content", () => HttpResponse.empty(204));
    await using client = await TestClient.start(app);

    // The client leaves.
    const left = await openStream(client);
    await assertStreamRefused(client, GLOBAL_MESSAGE);
    await left.close();
    await waitFor(() => app.connections.sse === 0, "the stream to end");

    // The server ends the stream.
    const short = await openStream(client, "/short");
    assert.deepEqual(
      (await short.take(1)).map((event) => event.data),
      ["one"],
    );
    assert.equal((await short.next()).done, true);

    // The handler refuses, throws, or answers with something else than a stream.
    assert.equal((await client.get("/refuse")).statusCode, 403);
    assert.equal((await client.get("/crash-at-once")).statusCode, 500);
    assert.equal((await client.get("/no-content")).statusCode, 204);
    // The producer throws after the first event: the stream ends.
    const crashed = await openStream(client, "/crash");
    assert.equal((await crashed.take(1))[0].data, "before");
    assert.equal((await crashed.next()).done, true);

    // After all of that the single place is free again, and still the only one.
    await waitFor(() => app.connections.sse === 0, "every stream to end");
    const last = await openStream(client);
    await assertStreamRefused(client, GLOBAL_MESSAGE);
    await last.close();
  });

  test("WebSockets: the client closes, the handler returns, the handler throws", async () => {
    const app = quietApp({ maxConnections: 1 });
    app.websocket("/ws", async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
    app.websocket("/bye", async (socket) => {
      await socket.send("bye");
    });
    app.websocket("/throw", async (socket) => {
      await socket.receive();
      throw new Error("handler failed");
    });
    await using client = await TestClient.start(app);
    const settled = () => app.connections.websocket === 0;

    const byClient = await client.websocketConnect("/ws");
    await echoes(byClient, "a");
    await assertSocketRefused(client, GLOBAL_MESSAGE);
    await byClient.close();
    await waitFor(settled, "the socket the client closed to be gone");

    const byServer = await client.websocketConnect("/bye");
    assert.equal(await byServer.receive(), "bye");
    assert.equal((await within(byServer.closed, "the server's close")).code, 1000);
    await waitFor(settled, "the socket the server closed to be gone");

    const thrown = await client.websocketConnect("/throw");
    await thrown.send("go");
    assert.equal((await within(thrown.closed, "the 1011 close")).code, 1011);
    await waitFor(settled, "the socket whose handler threw to be gone");

    const last = await client.websocketConnect("/ws");
    await echoes(last, "accepted again");
    await assertSocketRefused(client, GLOBAL_MESSAGE);
  });

  test("a WebSocket dropped without a closing handshake gives its place back", async () => {
    const app = limitedApp({ maxConnections: 1 });
    await using client = await TestClient.start(app);
    const dropped = await client.websocketConnect("/ws");
    await echoes(dropped, "x");
    dropped.raw.terminate();
    await waitFor(() => app.connections.websocket === 0, "the dropped socket to be gone");
    const next = await client.websocketConnect("/ws");
    await echoes(next, "y");
  });

  test("app.close() ends capped connections and settles", async () => {
    const app = limitedApp({ maxConnections: 2 });
    const client = await TestClient.start(app);
    const events = await openStream(client);
    const socket = await client.websocketConnect("/ws");
    await assertStreamRefused(client, GLOBAL_MESSAGE);
    await within(app.close({ timeout: 2000 }), "app.close()");
    assert.equal((await within(socket.closed, "the socket's close")).code, 1001);
    assert.equal((await within(events.next(), "the stream's end")).done, true);
    assert.deepEqual(app.connections, { websocket: 0, sse: 0 });
  });
});

/** Can this machine connect from 127.0.0.2 (Linux routes all of 127/8 to loopback)? */
async function canUseSecondLoopback(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

interface Origin {
  /** How the client is told apart: a local address, or a header the app's clientAddress reads. */
  localAddress?: string;
  headers?: Record<string, string>;
}

function sseFrom(url: string, origin: Origin): Promise<IncomingMessage> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request({
      host: hostname.replace(/^\[(.*)\]$/, "$1"), // an IPv6 literal without its brackets
      port,
      path: "/events",
      agent: false,
      localAddress: origin.localAddress,
      headers: { accept: "text/event-stream", ...origin.headers },
    });
    outgoing.once("response", resolve);
    outgoing.once("error", reject);
    outgoing.end();
  });
}

async function bodyOf(message: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of message) body += chunk;
  return body;
}

/** A WebSocket from an origin: open, then its close code and reason. */
function wsFrom(url: string, origin: Origin) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`, {
    localAddress: origin.localAddress,
    headers: origin.headers,
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on("error", () => {});
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("unexpected-response", () => reject(new Error("upgrade refused with HTTP")));
  });
  return { ws, opened, closed };
}

describe("connection caps: maxConnectionsPerIp", () => {
  async function perAddress(useLoopback: boolean) {
    const app = limitedApp({
      maxConnections: 100,
      maxConnectionsPerIp: 2,
      clientAddress: useLoopback ? undefined : (req) => req.header("x-test-client") ?? "?",
    });
    await using client = await TestClient.start(app);
    const a: Origin = useLoopback
      ? { localAddress: "127.0.0.1" }
      : { headers: { "x-test-client": "a" } };
    const b: Origin = useLoopback
      ? { localAddress: "127.0.0.2" }
      : { headers: { "x-test-client": "b" } };

    const streamA = await sseFrom(client.url, a);
    assert.equal(streamA.statusCode, 200);
    const socketA = wsFrom(client.url, a);
    await within(socketA.opened, "a's socket");

    // a is at its cap: refused, with the per-address message.
    const refused = await sseFrom(client.url, a);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers["retry-after"], "5");
    assert.equal(JSON.parse(await bodyOf(refused)).message, ADDRESS_MESSAGE);
    const refusedSocket = wsFrom(client.url, a);
    await within(refusedSocket.opened, "the refused socket's handshake");
    assert.deepEqual(await within(refusedSocket.closed, "the 1013"), {
      code: 1013,
      reason: ADDRESS_MESSAGE,
    });

    // b is not.
    const streamB = await sseFrom(client.url, b);
    assert.equal(streamB.statusCode, 200);
    const socketB = wsFrom(client.url, b);
    await within(socketB.opened, "b's socket");
    await waitFor(
      () => app.connections.sse === 2 && app.connections.websocket === 2,
      "a's and b's connections",
    );

    // a leaves one: it may open one again, and no more.
    streamA.destroy();
    await waitFor(() => app.connections.sse === 1, "a's stream to end");
    const again = await sseFrom(client.url, a);
    assert.equal(again.statusCode, 200);
    const over = await sseFrom(client.url, a);
    assert.equal(over.statusCode, 503);
    over.destroy();

    for (const message of [again, streamB]) message.destroy();
    for (const socket of [socketA, socketB]) socket.ws.close();
  }

  test("one address at its cap is refused; another address is still accepted (127.0.0.1 vs 127.0.0.2)", async (t) => {
    const probe = quietApp();
    const server = await probe.listen({ port: 0 });
    const available = await canUseSecondLoopback(server.port);
    await probe.close();
    if (!available) {
      t.skip("cannot connect from 127.0.0.2 here; the clientAddress test covers the logic");
      return;
    }
    await perAddress(true);
  });

  test("clientAddress decides the address (as behind a proxy)", async () => {
    await perAddress(false);
  });

  test("a clientAddress that throws falls back to the socket's address, and says so", async () => {
    const { logger, lines } = capturedLogger();
    const app = limitedApp({
      logger,
      maxConnectionsPerIp: 1,
      clientAddress: () => {
        throw new Error("no header");
      },
    });
    await using client = await TestClient.start(app);
    await openStream(client);
    await assertStreamRefused(client, ADDRESS_MESSAGE);
    assert.ok(lines.some((line) => line.msg === "clientAddress failed; used the socket's address"));
  });

  test("without maxConnections, only the per-address cap applies", async () => {
    const app = limitedApp({ maxConnectionsPerIp: 1 });
    await using client = await TestClient.start(app);
    const socket = await client.websocketConnect("/ws");
    await assertSocketRefused(client, ADDRESS_MESSAGE);
    await echoes(socket, "still open");
  });
});

/** `ipv6Prefix`, typed apart until AppOptions declares it. */
function prefixOption(ipv6Prefix: unknown): AppOptions {
  return { ipv6Prefix } as AppOptions;
}

describe("connection caps: maxConnectionsPerIp and IPv6", () => {
  test("an IPv6 client (over [::1]) is capped like an IPv4 one: SSE 503, WebSocket 1013", async () => {
    const app = limitedApp({ maxConnectionsPerIp: 1 });
    const server = await app.listen({ host: "::1", port: 0 });
    try {
      const url = `http://[::1]:${server.port}`;
      const first = await sseFrom(url, {});
      assert.equal(first.statusCode, 200);
      const refused = await sseFrom(url, {});
      assert.equal(refused.statusCode, 503);
      assert.equal(JSON.parse(await bodyOf(refused)).message, ADDRESS_MESSAGE);
      const socket = wsFrom(url, {});
      await within(socket.opened, "the refused socket's handshake");
      assert.deepEqual(await within(socket.closed, "the 1013"), {
        code: 1013,
        reason: ADDRESS_MESSAGE,
      });
      first.destroy();
      await waitFor(() => app.connections.sse === 0, "the first stream to end");
      const again = await sseFrom(url, {});
      assert.equal(again.statusCode, 200, "the place came back");
      again.destroy();
    } finally {
      await app.close();
    }
  });

  /** Opens one SSE stream per address (as `clientAddress` reports it); the status of each. */
  async function statuses(options: AppOptions, addresses: string[]): Promise<number[]> {
    const app = limitedApp({
      maxConnectionsPerIp: 1,
      clientAddress: (req) => req.header("x-test-client") ?? "?",
      ...options,
    });
    await using client = await TestClient.start(app);
    const answers: IncomingMessage[] = [];
    for (const address of addresses) {
      answers.push(await sseFrom(client.url, { headers: { "x-test-client": address } }));
    }
    for (const answer of answers) answer.destroy();
    return answers.map((answer) => answer.statusCode ?? 0);
  }

  test("by default the addresses of one /64 share one place; the next /64 has its own", async () => {
    assert.deepEqual(
      await statuses({}, ["2001:db8:1:2::a", "2001:db8:1:2:ffff::b", "2001:db8:1:3::a", "::1"]),
      [200, 503, 200, 200],
    );
  });

  test("ipv6Prefix: 48 puts a whole site together; 128 counts every address apart", async () => {
    const addresses = ["2001:db8:1:2::a", "2001:db8:1:3::a", "2001:db8:2::a"];
    assert.deepEqual(await statuses(prefixOption(48), addresses), [200, 503, 200]);
    assert.deepEqual(
      await statuses(prefixOption(128), [...addresses, "2001:db8:1:2::b", "2001:db8:1:2::a"]),
      [200, 200, 200, 200, 503],
    );
  });

  test("an IPv4-mapped address counts as the IPv4 address", async () => {
    assert.deepEqual(
      await statuses({}, ["192.0.2.7", "::ffff:192.0.2.7", "::ffff:192.0.2.8"]),
      [200, 503, 200],
    );
  });

  test("an invalid ipv6Prefix is a TypeError at construction, caps or not", () => {
    for (const bad of [0, 129, 64.5, "64", null]) {
      for (const caps of [{}, { maxConnectionsPerIp: 2 }]) {
        assert.throws(
          () => quietApp({ ...caps, ...prefixOption(bad) }),
          (error: Error) =>
            error instanceof TypeError &&
            error.message.startsWith("ipv6Prefix must be an integer from 1 to 128"),
          String(bad),
        );
      }
    }
    quietApp({ maxConnectionsPerIp: 2, ...prefixOption(56) });
  });
});

describe("connection caps: options", () => {
  test("invalid caps and clientAddress throw TypeErrors at construction", () => {
    for (const name of ["maxConnections", "maxConnectionsPerIp"] as const) {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, "10", null]) {
        assert.throws(
          () => quietApp({ [name]: bad as number }),
          (error: Error) =>
            error instanceof TypeError &&
            error.message.startsWith(`${name} must be a positive integer or Infinity`),
          `${name}: ${String(bad)}`,
        );
      }
    }
    assert.throws(
      () => quietApp({ clientAddress: "x-forwarded-for" as never }),
      /clientAddress must be a function/,
    );
    for (const good of [1, 10_000, Number.POSITIVE_INFINITY, undefined]) {
      quietApp({ maxConnections: good, maxConnectionsPerIp: good });
    }
  });

  test("Infinity means no cap", async () => {
    const app = limitedApp({
      maxConnections: Number.POSITIVE_INFINITY,
      maxConnectionsPerIp: Number.POSITIVE_INFINITY,
    });
    await using client = await TestClient.start(app);
    for (let i = 0; i < 5; i++) await openStream(client);
    await waitFor(() => app.connections.sse === 5, "5 streams");
  });
});
