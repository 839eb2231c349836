// The `messageRate` route option: a token bucket per socket, over real `ws` clients on
// 127.0.0.1. A peer over its rate is closed with 1008; what was let in before is still read.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, type CloseInfo } from "../src/index.js";
import { TestClient, type TestWebSocket } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { watchCrashes } from "./support/crash-watch.js";
import { capturedLogger } from "./support/logging.js";
import { aborted, sleep, waitFor, within } from "./support/wait.js";

const REASON = "message rate limit exceeded";

/** Echoes every message back; notes what it read, whether its finally ran and the close. */
function echoRoute(app: App, path: string, options: Parameters<App["websocket"]>[1]) {
  const seen = new Map<string, { read: string[]; finished: boolean; closed?: CloseInfo }>();
  app.websocket(path, options, async (socket) => {
    const who = String(socket.request.query.get("who"));
    const entry = {
      read: [] as string[],
      finished: false,
      closed: undefined as CloseInfo | undefined,
    };
    seen.set(who, entry);
    socket.closed.then((info) => {
      entry.closed = info;
    });
    try {
      for await (const message of socket) {
        entry.read.push(String(message));
        // After a close the rest of what was let in is still read; its echo cannot go.
        await socket.send(message).catch(() => {});
      }
    } finally {
      entry.finished = true;
    }
  });
  return seen;
}

/** Sends each message and waits for its echo. */
async function roundTrips(ws: TestWebSocket, messages: string[]): Promise<void> {
  for (const message of messages) {
    await ws.send(message);
    assert.equal(await within(ws.receive(), `the echo of ${message}`), message);
  }
}

const labels = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `${prefix}${from + i}`);

// A crash (an unhandled rejection, an uncaught exception) must not happen on the way.
const crashes = watchCrashes();

describe("WebSocket messageRate", () => {
  test("a burst of exactly `messages` is all delivered, in order, and the socket stays open", async () => {
    const app = quietApp();
    const seen = echoRoute(app, "/burst", { messageRate: { messages: 20, perMs: 60_000 } });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/burst?who=a");
    const sent = labels("m", 20);
    for (const message of sent) ws.raw.send(message); // one burst, not awaited
    for (const message of sent) {
      assert.equal(await within(ws.receive(), `the echo of ${message}`), message);
    }
    await sleep(50);
    assert.equal(ws.raw.readyState, ws.raw.OPEN, "still open after the whole burst");
    assert.deepEqual(seen.get("a")?.read, sent);
    assert.deepEqual(await within(ws.close(1000), "the client's close"), {
      code: 1000,
      reason: "",
    });
    await waitFor(() => seen.get("a")?.finished === true, "the handler's finally");
  });

  test("one message over: closed with 1008 and the reason; the handler reads exactly the ones let in, in order, then its finally runs", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let outcome: { read: string[]; closed: CloseInfo } | undefined;
    let finallyRan = false;
    app.websocket("/flood", { messageRate: { messages: 5, perMs: 60_000 } }, async (socket) => {
      try {
        // Reads only once the connection is gone: what was let in must still be there.
        await aborted(socket.signal);
        const read: string[] = [];
        for await (const message of socket) read.push(String(message));
        outcome = { read, closed: await socket.closed };
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/flood");
    for (const message of labels("m", 9)) ws.raw.send(message);
    assert.deepEqual(await within(ws.closed, "the server's close"), { code: 1008, reason: REASON });
    await waitFor(() => finallyRan, "the handler's finally");
    assert.deepEqual(outcome, {
      read: ["m0", "m1", "m2", "m3", "m4"],
      closed: { code: 1008, reason: REASON },
    });
    const warnings = lines.filter((line) => line.msg.includes("message rate"));
    assert.equal(warnings.length, 1, "logged once, not once per dropped message");
    assert.equal(warnings[0]?.level, 40);

    // The app is still up: a new socket on the same route gets its own allowance.
    const again = await client.websocketConnect("/flood");
    for (const message of labels("n", 3)) await again.send(message);
    assert.deepEqual(await within(again.close(4000, "done"), "the second close"), {
      code: 4000,
      reason: "done",
    });
    assert.deepEqual(crashes, []);
  });

  test("the bucket refills: a steady rate under the limit goes on well past the burst", async () => {
    const app = quietApp();
    // 10 in a burst, 50 a second; the client sends 25 a second, 30 messages in about 1.2 s:
    // three times the burst, so only the refill lets them all in.
    const seen = echoRoute(app, "/steady", { messageRate: { messages: 10, perMs: 200 } });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/steady?who=a");
    const sent = labels("s", 30);
    for (const message of sent) {
      ws.raw.send(message);
      await sleep(40);
    }
    for (const message of sent) {
      assert.equal(await within(ws.receive(), `the echo of ${message}`), message);
    }
    assert.equal(ws.raw.readyState, ws.raw.OPEN, "not closed for the rate");
    assert.deepEqual(seen.get("a")?.read, sent);
    assert.equal(seen.get("a")?.closed, undefined);
  });

  test("the refill is bounded: a burst right after the steady phase is cut at the bucket's size", async () => {
    const app = quietApp();
    const seen = echoRoute(app, "/refill", { messageRate: { messages: 4, perMs: 400 } });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/refill?who=a");
    await roundTrips(ws, labels("a", 4)); // the bucket is empty
    await sleep(500); // full again (4 tokens), and no more than that
    for (const message of labels("b", 10)) ws.raw.send(message);
    assert.deepEqual(await within(ws.closed, "the server's close"), { code: 1008, reason: REASON });
    await waitFor(() => seen.get("a")?.finished === true, "the handler's finally");
    assert.deepEqual(seen.get("a")?.read, [...labels("a", 4), ...labels("b", 4)]);
  });

  test("the limit is per socket: one peer over its rate is closed, another on the same route keeps working", async () => {
    const app = quietApp();
    const seen = echoRoute(app, "/per-socket", { messageRate: { messages: 5, perMs: 60_000 } });
    await using client = await TestClient.start(app);
    const calm = await client.websocketConnect("/per-socket?who=calm");
    const noisy = await client.websocketConnect("/per-socket?who=noisy");
    await roundTrips(calm, labels("c", 3));
    for (const message of labels("n", 8)) noisy.raw.send(message);
    assert.deepEqual(await within(noisy.closed, "the noisy peer's close"), {
      code: 1008,
      reason: REASON,
    });
    await waitFor(() => seen.get("noisy")?.finished === true, "the noisy handler's finally");
    assert.deepEqual(seen.get("noisy")?.read, labels("n", 5));
    // The calm peer still has its own two messages left, and nothing else.
    await roundTrips(calm, labels("c", 2, 3));
    assert.equal(calm.raw.readyState, calm.raw.OPEN);
    assert.deepEqual(seen.get("calm")?.read, labels("c", 5));
    assert.equal(seen.get("calm")?.finished, false);
    assert.deepEqual(await within(calm.close(1000), "the calm close"), { code: 1000, reason: "" });
  });

  for (const [name, options] of [
    ["messageRate: false", { messageRate: false as const }],
    ["no messageRate (the default is off)", {}],
  ] as const) {
    test(`${name}: a burst of thousands is all delivered`, async () => {
      const app = quietApp();
      let count = 0;
      let finished = false;
      app.websocket("/free", options, async (socket) => {
        try {
          for await (const message of socket) {
            assert.equal(message, `m${count}`);
            count++;
          }
        } finally {
          finished = true;
        }
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/free", { compression: false });
      const total = 5000;
      for (let i = 0; i < total; i++) ws.raw.send(`m${i}`);
      await waitFor(() => count === total, `all ${total} messages (got ${count})`, 5000);
      assert.equal(ws.raw.readyState, ws.raw.OPEN);
      assert.deepEqual(await within(ws.close(1000), "the close"), { code: 1000, reason: "" });
      await waitFor(() => finished, "the handler's finally");
    });
  }

  test("invalid options throw a TypeError at route creation that names the option", () => {
    const app = quietApp();
    const handler = async () => {};
    const cases: [unknown, RegExp][] = [
      [
        { messages: 0, perMs: 1000 },
        /messageRate\.messages must be a positive whole number, got 0/,
      ],
      [{ messages: 1.5, perMs: 1000 }, /messageRate\.messages .* got 1\.5/],
      [{ messages: -3, perMs: 1000 }, /messageRate\.messages .* got -3/],
      [{ messages: "10", perMs: 1000 }, /messageRate\.messages .* got "10"/],
      [{ perMs: 1000 }, /messageRate\.messages .* got undefined/],
      [{ messages: 10, perMs: 0 }, /messageRate\.perMs must be a positive whole number, got 0/],
      [{ messages: 10, perMs: Number.POSITIVE_INFINITY }, /messageRate\.perMs .* got Infinity/],
      [{ messages: 10, perMs: Number.NaN }, /messageRate\.perMs .* got NaN/],
      [{ messages: 10 }, /messageRate\.perMs .* got undefined/],
      [true, /messageRate must be \{ messages, perMs \}.* or false, got true/],
      [null, /messageRate must be .* got null/],
      [100, /messageRate must be .* got 100/],
      [[10, 1000], /messageRate must be .* got \[10,1000\]/],
    ];
    cases.forEach(([messageRate, message], i) => {
      assert.throws(
        () => app.websocket(`/bad${i}`, { messageRate } as never, handler),
        (error: unknown) => {
          assert.ok(error instanceof TypeError, `case ${i}: a TypeError`);
          assert.match(error.message, message, `case ${i}`);
          assert.match(error.message, new RegExp(`^WebSocket route /bad${i}:`), `case ${i}`);
          return true;
        },
      );
    });
    // Valid ones are taken, the smallest included.
    app.websocket("/ok1", { messageRate: { messages: 1, perMs: 1 } }, handler);
    app.websocket("/ok2", { messageRate: false }, handler);
  });

  test("the option is read once: changing the object after the route was added changes nothing", async () => {
    const app = quietApp();
    const rate = { messages: 3, perMs: 60_000 };
    const seen = echoRoute(app, "/copied", { messageRate: rate });
    rate.messages = 1000;
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/copied?who=a");
    for (const message of labels("m", 5)) ws.raw.send(message);
    assert.deepEqual(await within(ws.closed, "the server's close"), { code: 1008, reason: REASON });
    await waitFor(() => seen.get("a")?.finished === true, "the handler's finally");
    assert.deepEqual(seen.get("a")?.read, labels("m", 3));
  });
});
