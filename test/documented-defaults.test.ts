/*
 * Every default in docs/security.md's table, checked on an App and routes built with no
 * options. Behaviour is observed where it is quick (a byte too many, a field too many, a
 * message too many); for the long timers, their effective value is read where Node shows it
 * (`server.headersTimeout`...), or the timer is driven by node:test's mock timers (only
 * setInterval, and performance.now for the SSE wheel: the sockets stay real), or the delay a
 * timer was armed with is recorded (the timer still runs). A first test compares the table
 * with this file's own list, so a default documented without a check here fails too.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { describe, type TestContext, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { App, memoryBroker, type SluiceRequest, type SluiceWebSocket } from "../src/index.js";
import { redisBroker } from "../src/redis/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { armedDelays } from "./support/armed-delays.js";
import { openSocket, portOf, rawExchange } from "./support/raw-http.js";
import { RedisServer } from "./support/redis-server.js";
import { sleep, waitFor, within } from "./support/wait.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * docs/security.md's "Default" column, row by row, as this file checks it. Rows whose default
 * is "—" (a refusal with no setting, tested where the table says) are not listed.
 */
const DOCUMENTED: Record<string, string> = {
  "Request head size": "16 KiB",
  "Header fields per request": "100",
  "Time to send the head (slowloris)": "10 s",
  "Time to send the whole request": "60 s",
  "Idle keep-alive connection": "5 s",
  "Request body read by `json()`/`text()`/`bytes()`": "1 MiB",
  "JSON with a `__proto__` or `constructor.prototype` key (`req.json()`, `socket.receiveJson()`)":
    'refused (`protoKeys: "error"`)',
  "IPv6 clients under `maxConnectionsPerIp`": "grouped by /64",
  "`Last-Event-ID`": "1 024 bytes",
  "Long-lived connections (SSE + WebSocket)": "no cap",
  "WebSocket message size": "1 MiB",
  "Bytes queued for a WebSocket peer that does not read": "4 MiB",
  "A stream whose client takes none of its bytes (socket full, or ended with bytes queued)": "30 s",
  "WebSocket messages per socket": "no limit",
  "WebSocket heartbeat": "ping every 30 s",
  "WebSocket origins": "the page's own origin only",
  "Messages a topic's SSE subscriber may fall behind": "1 000",
  "Topic history kept for resuming": "1 000 per topic (memory broker)",
  "Idle topic's log (no subscriber, no publish)": "5 min (memory), 24 h (Redis)",
  "Topics kept by the memory broker": "10 000",
  "Window in which a repeated `dedupeKey` publish is stored once": "2 min (memory and Redis)",
  "`dedupeKey`s remembered by the memory broker": "100 000",
  "Graceful close": "10 s",
  "A WebSocket close the peer does not answer": "5 s",
};

/**
 * Rows checked in another file, which needs a process of its own (the default logger writes
 * to the process's stdout): what → its default, the file, and the test there that holds it.
 */
const CHECKED_ELSEWHERE: Record<string, { value: string; file: string; test: string }> = {
  "Messages one `subscribe(topic, { replay })` may ask for (`app.subscribe`, `socket.subscribe`)": {
    value: "10 000",
    file: "topic-replay.test.ts",
    test: "a replay that is no whole number from 1 to 10 000 is a TypeError saying what is accepted",
  },
  "Issues listed when a schema refuses a value (a 400 problem, a close reason, an `invalid` reply)":
    {
      value: "100",
      file: "contract-http-hardening.test.ts",
      test: "at most 100 issues are listed and the detail says how many more there were",
    },
  "Length of a validation issue's message": {
    value: "300 characters",
    file: "contract-http-hardening.test.ts",
    test: "a message is cut to 300 characters, ending in an ellipsis",
  },
  "Length of a validation issue's path (and of each key in it)": {
    value: "200 characters (64)",
    file: "validation-issue-bounds.test.ts",
    test: "a key is cut at 64 characters and a path at 200, each ending with …",
  },
  "Checks of what the app sends against its schemas (`response`, `send`, `events`, `result`)": {
    value: "on, unless `NODE_ENV` is `production`",
    file: "contract-http.test.ts",
    test: "validateOutput defaults to on, and to off when NODE_ENV is production",
  },
  "Frames a real-time client may send (`app.realtime`)": {
    value: "a burst of 200, then 200 per second",
    file: "realtime-bounds.test.ts",
    test: "frames: a burst of 200 is read, the 201st closes with 1008",
  },
  "Topics one real-time connection may follow": {
    value: "1 000",
    file: "realtime-bounds.test.ts",
    test: "topics: one connection may follow 1 000; the 1 001st subscribe is refused",
  },
  "Real-time requests of one connection awaiting their reply": {
    value: "64",
    file: "realtime-bounds.test.ts",
    test: "requests awaiting replies: 64 run at once, the next frames wait unread",
  },
  "A real-time method call": {
    value: "30 s",
    file: "realtime-bounds.test.ts",
    test: "a method may take 30 s before its caller gets a timeout reply",
  },
  "Topics in one real-time SSE request": {
    value: "32",
    file: "realtime-bounds.test.ts",
    test: "SSE: 32 topics in one request are served, 33 refused with 400",
  },
  "Messages waiting for a real-time SSE client that does not read": {
    value: "1 000",
    file: "realtime-bounds.test.ts",
    test: "SSE: 1 000 messages may wait for a client that does not read; the 1 001st ends its stream",
  },
  "Wait for log writes at a signal's exit (`handleSignals`)": {
    value: "500 ms",
    file: "broken-log-pipe.test.ts",
    test: "a destination that never finishes a write holds the exit at most 500 ms",
  },
  "Log bytes queued while stdout's reader is not reading (default logger)": {
    value: "16 MiB",
    file: "broken-log-pipe.test.ts",
    test: "what a stalled reader leaves queued is bounded (16 MiB)",
  },
};

/** The rows of the table under "## Defaults" that have a default: what → default. */
function documentedDefaults(): Map<string, string> {
  const doc = readFileSync(new URL("../docs/security.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Defaults"));
  const rows = new Map<string, string>();
  for (const line of section.split("\n").slice(1)) {
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|") || /^\|\s*(What|-)/.test(line)) continue;
    const [what, value] = line
      .split("|")
      .slice(1, 3)
      .map((cell) => cell.trim());
    if (value !== "—") rows.set(what, value);
  }
  return rows;
}

/** Sends one raw request (closing after it) and resolves with the status code. */
async function rawStatus(port: number, head: string, body = ""): Promise<number> {
  const answer = await rawExchange(port, head + body);
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

async function openWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * MiB, ...options });
  ws.on("error", () => {}); // seen as the close code
  await within(once(ws, "open"), `${url} to open`, 5000);
  return ws;
}

function closeOf(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once("close", (code) => resolve(code)));
}

test("docs/security.md's table lists exactly the defaults this file checks, with the same values", () => {
  const rows = documentedDefaults();
  assert.ok(rows.size >= Object.keys(DOCUMENTED).length, "the table was found");
  for (const [what, value] of rows) {
    const elsewhere = CHECKED_ELSEWHERE[what];
    if (elsewhere) {
      assert.equal(value, elsewhere.value, `the documented default of "${what}"`);
      const source = readFileSync(new URL(elsewhere.file, import.meta.url), "utf8");
      assert.ok(source.includes(elsewhere.test), `${elsewhere.file} still has "${elsewhere.test}"`);
      continue;
    }
    assert.ok(what in DOCUMENTED, `"${what}" (default ${value}) has no check here: add one`);
    assert.equal(value, DOCUMENTED[what], `the documented default of "${what}"`);
  }
  for (const what of [...Object.keys(DOCUMENTED), ...Object.keys(CHECKED_ELSEWHERE)])
    assert.ok(rows.has(what), `"${what}" is documented`);
});

describe("HTTP defaults of an App built with no options", () => {
  let client: TestClient;
  let port: number;
  let seenSendTimeout: number | undefined;
  const app = quietApp();
  app.get("/", () => "ok");
  app.post("/body", async (req) => ({ bytes: (await req.bytes()).length }));
  app.post("/json", async (req) => ({ parsed: await req.json() }));
  app.sse("/events", async function* (req: SluiceRequest) {
    seenSendTimeout = req.sendTimeout;
    yield `last ${req.lastEventId?.length ?? 0}`;
  });

  test("start", async () => {
    client = await TestClient.start(app);
    port = portOf(client.url);
  });

  test("a request head of 16 KiB is the limit: 15 KiB passes, 17 KiB gets 431", async () => {
    const head = (bytes: number) =>
      `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ${"a".repeat(bytes)}\r\n\r\n`;
    assert.equal(await rawStatus(port, head(15 * KiB)), 200);
    assert.equal(await rawStatus(port, head(17 * KiB)), 431);
  });

  test("100 header fields pass, the 101st gets 431", async () => {
    const head = (fields: number) => {
      // Host and Connection count: they are fields too.
      const extra = Array.from({ length: fields - 2 }, (_, i) => `X-F${i}: 1\r\n`).join("");
      return `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`;
    };
    assert.equal(await rawStatus(port, head(100)), 200);
    assert.equal(await rawStatus(port, head(101)), 431);
  });

  test("the server's timers: head 10 s, whole request 60 s, idle keep-alive 5 s", () => {
    const server = app.server;
    assert.ok(server, "listening");
    // The values Node's own timers enforce (hostile-http shows each one cutting, on short values).
    assert.equal(server.headersTimeout, 10_000);
    assert.equal(server.requestTimeout, 60_000);
    assert.equal(server.keepAliveTimeout, 5_000);
  });

  test("a body of 1 MiB is read, one byte more gets 413", async () => {
    const post = (bytes: number) =>
      `POST /body HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${bytes}\r\n\r\n`;
    assert.equal(await rawStatus(port, post(MiB), "b".repeat(MiB)), 200);
    assert.equal(await rawStatus(port, post(MiB + 1), "b".repeat(MiB + 1)), 413);
  });

  test("a Last-Event-ID of 1 024 bytes is read, 1 025 gets 400", async () => {
    const get = (bytes: number) =>
      `GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nLast-Event-ID: ${"i".repeat(bytes)}\r\n\r\n`;
    const answer = await rawExchange(port, get(1024));
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /data: last 1024\n/);
    assert.equal(await rawStatus(port, get(1025)), 400);
  });

  test("a stream's client that takes nothing is cut after 30 s (sendTimeout)", () => {
    // 30 s of real time is too long for a test: this is the value the stream's pump and its
    // finish watch arm their timers with (slow-dead-clients shows it cutting, on short values).
    assert.equal(seenSendTimeout, 30_000);
  });

  test("JSON with a __proto__ or constructor.prototype key is refused with 400", async () => {
    const post = (json: string) =>
      rawStatus(
        port,
        `POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n`,
        json,
      );
    assert.equal(await post('{"a":{"isAdmin":true}}'), 200);
    assert.equal(await post('{"a":{"__proto__":{"isAdmin":true}}}'), 400);
    assert.equal(await post('{"constructor":{"prototype":{"isAdmin":true}}}'), 400);
  });

  test("no cap on long-lived connections: 100 SSE streams from one address are all served", async () => {
    const streams = Array.from({ length: 100 }, () => {
      const connection = openSocket(port);
      connection.socket.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
      return connection;
    });
    await waitFor(
      () => streams.every((stream) => stream.received().startsWith("HTTP/1.1 200 ")),
      "every stream's 200",
      5000,
    );
    for (const stream of streams) stream.socket.destroy();
  });

  test("stop", async () => {
    await client.close();
  });
});

describe("WebSocket defaults of a route built with no options", () => {
  test("a message of 1 MiB is accepted, one byte more closes with 1009", async () => {
    const app = quietApp();
    app.websocket("/echo", async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
    await using client = await TestClient.start(app);
    const url = `${client.url.replace("http", "ws")}/echo`;
    const ws = await openWs(url);
    ws.send(Buffer.alloc(MiB, 1));
    const [echo] = (await within(once(ws, "message"), "the 1 MiB echo", 5000)) as [Buffer];
    assert.equal(echo.length, MiB);
    const closed = closeOf(ws);
    ws.send(Buffer.alloc(MiB + 1, 1));
    assert.equal(await within(closed, "the close", 5000), 1009);
  });

  test("no message rate limit: 5 000 messages in one burst are all delivered", async () => {
    const app = quietApp();
    let received = 0;
    app.websocket("/count", async (socket) => {
      for await (const _ of socket) received++;
    });
    await using client = await TestClient.start(app);
    const ws = await openWs(`${client.url.replace("http", "ws")}/count`);
    for (let i = 0; i < 5000; i++) ws.send("m");
    await waitFor(() => received === 5000, "every message", 10_000);
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  test("only the page's own origin is let in", async () => {
    const app = quietApp();
    app.websocket("/o", (socket) => socket.closed);
    await using client = await TestClient.start(app);
    const url = `${client.url.replace("http", "ws")}/o`;
    const own = await openWs(url, { origin: `http://${new URL(client.url).host}` });
    own.close();
    const other = new WebSocket(url, { origin: "https://elsewhere.example" });
    other.on("error", () => {});
    const [, response] = (await within(once(other, "unexpected-response"), "the refusal")) as [
      unknown,
      { statusCode: number },
    ];
    assert.equal(response.statusCode, 403);
    other.terminate();
  });

  test("a peer that does not read is closed with 1013 once more than 4 MiB is queued for it", async () => {
    const app = quietApp();
    const chunk = Buffer.alloc(64 * KiB, 7);
    let peak = 0;
    let cut = false;
    app.websocket("/flood", async (socket: SluiceWebSocket) => {
      // A broadcast that does not wait: one frame a turn, as the slow-consumer check expects.
      while (socket.readyState === WebSocket.OPEN) {
        socket.send(chunk).catch(() => {});
        peak = Math.max(peak, socket.bufferedAmount);
        await nextTurn();
      }
      cut = true;
    });
    await using client = await TestClient.start(app);
    const ws = await openWs(`${client.url.replace("http", "ws")}/flood`);
    ws.pause();
    await waitFor(() => cut, "the cut", 15_000);
    assert.ok(peak > 4 * MiB, `${peak} bytes were queued before the cut`);
    assert.ok(peak <= 4 * MiB + chunk.length + 16, `at most one frame past 4 MiB, got ${peak}`);
    const closed = closeOf(ws);
    ws.resume();
    assert.equal(await within(closed, "the close", 10_000), 1013);
  });

  test("a ping goes out 30 s after the socket opens (mock setInterval; the socket is real)", async (t: TestContext) => {
    const app = quietApp();
    app.websocket("/beat", (socket) => socket.closed);
    await using client = await TestClient.start(app);
    // The heartbeat's timer starts with the route's first socket: mocked from before it.
    t.mock.timers.enable({ apis: ["setInterval"] });
    try {
      const ws = await openWs(`${client.url.replace("http", "ws")}/beat`);
      let pings = 0;
      ws.on("ping", () => pings++);
      t.mock.timers.tick(29_999);
      await sleep(50);
      assert.equal(pings, 0, "no ping before 30 s");
      t.mock.timers.tick(1);
      await waitFor(() => pings === 1, "the ping at 30 s");
      t.mock.timers.tick(29_999);
      await sleep(50);
      assert.equal(pings, 1, "the next one 30 s later, not before");
      t.mock.timers.tick(1);
      await waitFor(() => pings === 2, "the second ping at 60 s");
      ws.close();
      await waitFor(() => app.connections.websocket === 0, "the socket to close");
    } finally {
      t.mock.timers.reset();
    }
  });

  test("a close the peer does not answer is cut after 5 s (the close timer's delay)", async () => {
    const app = quietApp();
    let server: SluiceWebSocket | undefined;
    app.websocket("/quiet", async (socket) => {
      server = socket;
      await socket.closed;
    });
    await using client = await TestClient.start(app);
    const ws = await openWs(`${client.url.replace("http", "ws")}/quiet`);
    await waitFor(() => server !== undefined, "the handler");
    ws.pause(); // the close frame is not read, so not answered
    const delays = await armedDelays("setTimeout", async () => {
      server?.close(1000, "bye");
      await nextTurn();
      await sleep(20);
    });
    assert.ok(delays.includes(5_000), `timers armed by the close: ${delays.join(", ")}`);
    ws.terminate();
  });
});

describe("SSE and topic defaults", () => {
  test("an idle SSE stream gets a keep-alive comment after 15 s of silence (mock setInterval and clock; the socket is real)", async (t: TestContext) => {
    const app = quietApp();
    app.sse("/idle", async function* (req) {
      yield "start";
      await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
    });
    await using client = await TestClient.start(app);
    // The shared wheel ticks on setInterval and measures silence with performance.now: both
    // move together by what is ticked (real time goes on under them too).
    let shift = 0;
    const realNow = performance.now.bind(performance);
    t.mock.method(performance, "now", () => realNow() + shift);
    t.mock.timers.enable({ apis: ["setInterval"] });
    // In small steps: a tick that fires on the way must see the clock of its own moment.
    const advance = (ms: number) => {
      for (let left = ms; left > 0; left -= 100) {
        const step = Math.min(100, left);
        shift += step;
        t.mock.timers.tick(step);
      }
    };
    try {
      const { socket, received } = openSocket(portOf(client.url));
      socket.write("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor(() => received().includes("data: start\n\n"), "the stream's start");
      advance(14_999);
      await sleep(50);
      assert.ok(!received().includes(": keep-alive\n\n"), "no comment before 15 s of silence");
      advance(1);
      await waitFor(() => received().includes(": keep-alive\n\n"), "the comment at 15 s");
      socket.destroy();
      await waitFor(() => app.connections.sse === 0, "the stream to end");
    } finally {
      t.mock.timers.reset();
      t.mock.restoreAll();
    }
  });

  test("a topic subscriber may fall 1 000 messages behind; the 1 001st cuts it off", async () => {
    const app = quietApp();
    const subscription = app.subscribe("behind");
    const iterator = subscription[Symbol.asyncIterator]();
    // Started (one message taken), then not read while 1 000 more come.
    const first = iterator.next();
    await app.publish("behind", 0);
    await first;
    for (let i = 1; i <= 1000; i++) await app.publish("behind", i);
    assert.equal(subscription.cutOff, false, "1 000 behind is allowed");
    await app.publish("behind", 1001);
    assert.equal(subscription.cutOff, true, "1 001 behind is cut off");
    await app.close();
  });

  test("the memory broker keeps the last 1 000 messages of a topic", async () => {
    const app = quietApp();
    const ids: string[] = [];
    for (let i = 0; i < 1001; i++) ids.push(await app.publish("kept", i));
    const kept = await app.history("kept", { limit: 5000 });
    assert.equal(kept.length, 1000);
    assert.equal(kept[0].id, ids[1], "the oldest one went");
    await app.close();
  });

  test("maxConnectionsPerIp counts IPv6 clients by their /64", async () => {
    const app = new App({
      logger: false,
      maxConnectionsPerIp: 1,
      clientAddress: (req) => req.header("x-client") ?? "",
    });
    app.sse("/held", async function* (req) {
      yield "start";
      await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
    });
    await using client = await TestClient.start(app);
    const open = (address: string) => {
      const connection = openSocket(portOf(client.url));
      connection.socket.write(`GET /held HTTP/1.1\r\nHost: x\r\nX-Client: ${address}\r\n\r\n`);
      return connection;
    };
    const status = async (connection: ReturnType<typeof open>) => {
      await waitFor(() => /^HTTP\/1\.1 \d{3}/.test(connection.received()), "an answer");
      return Number(connection.received().slice(9, 12));
    };
    const first = open("2001:db8:1:2::1");
    assert.equal(await status(first), 200);
    // The same /64 (the last 64 bits differ): the same client.
    const sameNetwork = open("2001:db8:1:2:ffff:ffff:ffff:fffe");
    assert.equal(await status(sameNetwork), 503);
    // The next /64 (only bit 64 differs): another client.
    const nextNetwork = open("2001:db8:1:3::1");
    assert.equal(await status(nextNetwork), 200);
    for (const connection of [first, sameNetwork, nextNetwork]) connection.socket.destroy();
  });

  test("the memory broker keeps at most 10 000 topics", async () => {
    const broker = memoryBroker();
    const app = new App({ logger: false, broker });
    for (let i = 0; i < 10_000; i++) await app.publish(`topic-${i}`, i);
    assert.equal(broker.topicCount, 10_000);
    await app.publish("one-more", 0);
    assert.equal(broker.topicCount, 10_000, "the least recently used one made room");
    assert.deepEqual(await app.history("topic-0"), [], "the oldest was dropped");
    await app.close();
  });

  test("the memory broker drops an idle topic's log after 5 minutes (mock setInterval and Date)", async (t: TestContext) => {
    t.mock.timers.enable({ apis: ["setInterval", "Date"], now: 0 });
    try {
      const broker = memoryBroker();
      await broker.publish("idle", undefined, "1");
      assert.equal(broker.topicCount, 1);
      t.mock.timers.tick(5 * 60_000 - 1);
      assert.equal(broker.topicCount, 1, "kept for 5 minutes");
      // One timer sweeps every topic, every quarter of the TTL (a minute at most).
      t.mock.timers.tick(60_000 + 1);
      assert.equal(broker.topicCount, 0, "dropped within a sweep after 5 minutes");
      await broker.close();
    } finally {
      t.mock.timers.reset();
    }
  });

  test("a repeated dedupeKey is stored once for 2 minutes on the memory broker (mock clock)", async (t: TestContext) => {
    let now = 1_000;
    t.mock.method(performance, "now", () => now);
    const app = new App({ logger: false, broker: memoryBroker() });
    const first = await app.publish("orders", 1, { dedupeKey: "k" });
    now += 120_000 - 1;
    assert.equal(
      await app.publish("orders", 1, { dedupeKey: "k" }),
      first,
      "a repeat inside 2 min",
    );
    now += 2;
    assert.notEqual(await app.publish("orders", 1, { dedupeKey: "k" }), first, "stored anew after");
    assert.equal((await app.history("orders")).length, 2);
    await app.close();
  });

  test("the memory broker remembers at most 100 000 dedupeKeys, the oldest forgotten first", async () => {
    const app = new App({ logger: false, broker: memoryBroker() });
    const first = await app.publish("keys", 0, { dedupeKey: "key-0" });
    const second = await app.publish("keys", 1, { dedupeKey: "key-1" });
    for (let i = 2; i < 100_000; i++) await app.publish("keys", i, { dedupeKey: `key-${i}` });
    assert.equal(await app.publish("keys", 0, { dedupeKey: "key-0" }), first, "100 000 kept");
    await app.publish("keys", 100_000, { dedupeKey: "key-100000" });
    assert.equal(await app.publish("keys", 1, { dedupeKey: "key-1" }), second, "the next is kept");
    assert.notEqual(await app.publish("keys", 0, { dedupeKey: "key-0" }), first, "the oldest went");
    await app.close();
  });

  test("a Redis dedupeKey is kept for 2 minutes", async () => {
    const server = await RedisServer.start();
    const admin = new Redis(server.port, "127.0.0.1", { maxRetriesPerRequest: 1 });
    try {
      const app = new App({ logger: false, broker: redisBroker({ url: server.url }) });
      await app.publish("orders", 1, { dedupeKey: "k-1" });
      const keys = await admin.keys("*dedupe*k-1");
      assert.equal(keys.length, 1, "one dedupe key in Redis");
      const ttl = await admin.pttl(keys[0] as string);
      assert.ok(ttl > 120_000 - 10_000 && ttl <= 120_000, `PTTL ${ttl}`);
      await app.close();
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });

  test("a Redis topic's stream expires 24 h after its last publish", async () => {
    const server = await RedisServer.start();
    const admin = new Redis(server.port, "127.0.0.1", { maxRetriesPerRequest: 1 });
    try {
      const app = new App({ logger: false, broker: redisBroker({ url: server.url }) });
      await app.publish("expiring", 1);
      const keys = await admin.keys("*expiring*");
      assert.ok(keys.length > 0, "the topic's stream is in Redis");
      for (const key of keys) {
        const ttl = await admin.pttl(key);
        assert.ok(ttl > 24 * 3_600_000 - 60_000 && ttl <= 24 * 3_600_000, `${key}: PTTL ${ttl}`);
      }
      await app.close();
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });

  test("a graceful close waits up to 10 s for what is open (the timer close arms)", async () => {
    const app = quietApp();
    app.sse("/held", async function* (req) {
      yield "start";
      await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
    });
    const client = await TestClient.start(app);
    const { socket, received } = openSocket(portOf(client.url));
    socket.write("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => received().includes("data: start"), "the stream's start");
    const delays = await armedDelays("setTimeout", () => app.close());
    // Armed with what is left of the 10 s once close() has begun: a few ms may have gone.
    const longest = Math.max(...delays);
    assert.ok(
      longest > 9_000 && longest <= 10_000,
      `timers armed by close(): ${delays.join(", ")}`,
    );
    socket.destroy();
    await client.close();
  });
});
