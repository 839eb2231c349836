import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { App, type Broker, memoryBroker } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { SseClient } from "./support/sse-client.js";
import { topicSemantics } from "./support/topic-semantics.js";
import { sleep, waitFor } from "./support/wait.js";

// Two Apps sharing one memory broker stand for two instances sharing a Redis.
let shared = memoryBroker();
topicSemantics("the memory broker", {
  create: (options) => (options ? memoryBroker(options) : shared),
  cleanup: async () => {
    shared = memoryBroker();
  },
});

describe("memoryBroker", () => {
  test("replays from the message just before the oldest retained one without a reset", async () => {
    const broker = memoryBroker({ history: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await broker.publish("t", undefined, String(i)));
    // Retained: #3..#5. After #2 nothing is missing; after #1, #2 is gone.
    const fromTwo = await broker.replay("t", ids[2] as string);
    assert.equal(fromTwo.kind, "messages");
    assert.deepEqual(fromTwo.kind === "messages" && fromTwo.messages.map((m) => m.json), [
      "3",
      "4",
      "5",
    ]);
    assert.deepEqual(await broker.replay("t", ids[1] as string), {
      kind: "reset",
      reason: "trimmed",
      head: ids[5],
    });
    assert.deepEqual(await broker.replay("t", ids[5] as string), {
      kind: "messages",
      messages: [],
    });
    assert.deepEqual(
      (await broker.history("t", { limit: 10 })).map((m) => m.json),
      ["3", "4", "5"],
    );
    await broker.close();
    await assert.rejects(broker.publish("t", undefined, "1"), /broker is closed/);
  });

  test("an id from another (or restarted) memory broker gets a reset, not look-alike messages", async () => {
    const before = memoryBroker();
    const old = await before.publish("t", undefined, "1");
    await new Promise((resolve) => setTimeout(resolve, 2)); // a later start time
    const after = memoryBroker();
    await after.publish("t", undefined, "2");
    const replay = await after.replay("t", old);
    assert.equal(replay.kind, "reset");
    assert.equal(replay.kind === "reset" && replay.reason, "unknown");
    const empty = await after.replay("nothing-here", old);
    assert.equal(empty.kind === "reset" && empty.head.endsWith("-0"), true, "an empty log's head");
  });

  test("refuses a bad history option", () => {
    for (const history of [0, -1, 1.5, "10", Number.NaN]) {
      assert.throws(() => memoryBroker({ history: history as number }), /positive whole number/);
    }
    assert.throws(() => memoryBroker(null as never), /options object/);
  });
});

/** A memory broker that counts its live subscriptions, to see them end. */
function countingBroker(): { broker: Broker; live: () => number } {
  const inner = memoryBroker();
  let live = 0;
  const broker: Broker = {
    publish: (...args) => inner.publish(...args),
    history: (...args) => inner.history(...args),
    replay: (...args) => inner.replay(...args),
    compareIds: (x, y) => inner.compareIds(x, y),
    close: () => inner.close(),
    async subscribe(topic, deliver) {
      const stop = await inner.subscribe(topic, deliver);
      live++;
      return () => {
        live--;
        stop();
      };
    },
  };
  return { broker, live: () => live };
}

describe("WebSocket topic subscriptions", () => {
  test("end when the socket closes, and a bad topic is refused with a TypeError", async () => {
    const { broker, live } = countingBroker();
    const app = quietApp({ broker });
    app.websocket("/ws", async (socket) => {
      const refused = await socket.subscribe("").catch((error: Error) => error.message);
      await socket.subscribe("news");
      await socket.subscribe("news"); // a second time is a no-op
      socket.send(JSON.stringify({ refused }));
      await socket.closed;
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws`);
    const received: any[] = [];
    ws.on("message", (data) => received.push(JSON.parse(String(data))));
    await waitFor(() => received.length === 1, "the handler's answer", 5000);
    assert.match(received[0].refused, /topic must be a non-empty string/);
    assert.equal(live(), 1, "one broker subscription for the topic");
    await app.publish("news", "one");
    await waitFor(() => received.length === 2, "the message", 5000);
    assert.equal(received.length, 2, "delivered once despite subscribing twice");
    ws.close();
    await waitFor(() => live() === 0, "the subscription to end with the socket", 5000);
    await app.close();
  });

  test("a subscriber that stops reading is closed with 1013 while the others get everything", async () => {
    const app = quietApp();
    app.websocket("/ws", { maxBuffered: 256 * 1024 }, async (socket) => {
      await socket.subscribe("flood");
      socket.send("ready");
      await socket.closed;
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const open = async () => {
      const ws = new WebSocket(`${url.replace("http", "ws")}/ws`);
      let count = 0;
      ws.on("message", () => count++);
      await waitFor(() => count === 1, "ready", 5000);
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      return { ws, closed, count: () => count - 1 };
    };
    const slow = await open();
    const fast = await open();
    // biome-ignore lint/suspicious/noExplicitAny: ws keeps its net.Socket private
    ((slow.ws as any)._socket as import("node:net").Socket).pause();
    const payload = "y".repeat(32 * 1024);
    const total = 400; // ~13 MB
    for (let i = 0; i < total; i++) {
      await app.publish("flood", { i, payload });
      await sleep(1);
    }
    await waitFor(() => fast.count() === total, "every message on the reading client", 10_000);
    // biome-ignore lint/suspicious/noExplicitAny: as above
    ((slow.ws as any)._socket as import("node:net").Socket).resume();
    assert.equal(await slow.closed, 1013);
    fast.ws.close();
    await app.close();
  });
});

describe("topic API input checks", () => {
  test("publish refuses bad topics, event types and data with a TypeError", async () => {
    const app = quietApp();
    for (const topic of ["", 42, undefined, "x".repeat(1025)]) {
      await assert.rejects(app.publish(topic as string, 1), /topic must be a non-empty string/);
    }
    await assert.rejects(app.publish("t", 1, { event: "a\nb" }), /without CR or LF/);
    await assert.rejects(app.publish("t", 1, { event: "reset" }), /reserved/);
    // Presence events: a subscriber's isPresenceEvent() must not be fooled by a publish.
    await assert.rejects(app.publish("t", 1, { event: "join" }), /"join" is reserved/);
    await assert.rejects(
      app.publish("t", 1, { event: "leave", store: false }),
      /"leave" is reserved/,
    );
    // And the SSE notice that credentials expired (a page would drop its stream on it).
    await assert.rejects(
      app.publish("t", 1, { event: "expired" }),
      /"expired" is reserved.*credentials/,
    );
    await assert.rejects(app.publish("t", undefined), /undefined is not JSON/);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(app.publish("t", circular), TypeError);
    await assert.rejects(
      app.publish("t", () => 1),
      /cannot be sent as JSON/,
    );
    await assert.rejects(app.publish("t", 1, null as never), /options must be an object/);
    assert.deepEqual(await app.history("t"), [], "nothing refused was stored");
    await app.close();
  });

  test("subscribe and history refuse bad options", async () => {
    const app = quietApp();
    assert.throws(() => app.subscribe(""), /topic must be/);
    assert.throws(() => app.subscribe("t", { maxQueued: 0 }), /maxQueued must be a positive/);
    assert.throws(() => app.subscribe("t", { signal: {} as AbortSignal }), /AbortSignal/);
    assert.throws(
      () => app.subscribe("t", { lastEventId: 5 as never }),
      /lastEventId must be a string/,
    );
    await assert.rejects(app.history("t", { limit: -1 }), /limit must be a positive/);
    await app.close();
  });

  test("an App refuses something that is not a broker", () => {
    assert.throws(() => new App({ logger: false, broker: memoryBroker as never }), /lacks publish/);
    assert.throws(() => new App({ logger: false, broker: {} as never }), /must be a broker/);
  });

  test("an SSE handler's subscription ends when the client leaves", async () => {
    const app = quietApp();
    const ended: boolean[] = [];
    app.sse("/feed", (req) => {
      const subscription = app.subscribe("feed", { signal: req.signal });
      return (async function* () {
        try {
          yield* subscription;
        } finally {
          ended.push(true);
        }
      })();
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const client = new SseClient(`${url}/feed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await app.publish("feed", "one");
    await client.waitForEvents(1);
    client.close();
    const started = Date.now();
    while (ended.length === 0 && Date.now() - started < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(ended, [true]);
    await app.close();
  });

  test("the last App to close closes a shared broker", async () => {
    const broker = memoryBroker();
    const first = quietApp({ broker });
    const second = quietApp({ broker });
    await first.close();
    assert.match(await second.publish("t", 1), /^\d+-1$/, "still open for the other App");
    await second.close();
    await assert.rejects(broker.publish("t", undefined, "1"), /closed/);
  });

  test('importing "sluice" never loads ioredis (importing "sluice/redis" does)', () => {
    assert.deepEqual(ioredisFilesLoadedBy(["index.js"]), []);
    // The check can see ioredis: through the Redis entry point it is there.
    assert.ok(ioredisFilesLoadedBy(["index.js", "redis/index.js"]).length > 0);
  });
});

/** ioredis files in the module cache of a fresh process that imports these dist/ files. */
function ioredisFilesLoadedBy(entries: string[]): string[] {
  const imports = entries
    .map(
      (entry) =>
        `await import(${JSON.stringify(new URL(`../dist/${entry}`, import.meta.url).href)});`,
    )
    .join("\n");
  const result = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `${imports}
       const { App } = await import(${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)});
       const app = new App({ logger: false });
       await app.publish("t", 1);
       await app.close();
       const { createRequire } = await import("node:module");
       const cache = createRequire(import.meta.url).cache;
       console.log(JSON.stringify(Object.keys(cache).filter((path) => path.includes("ioredis"))));`,
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim());
}

describe("an SSE topic route while the broker has not answered its subscribe yet", () => {
  test("no head goes out before the subscription is live; a client that leaves meanwhile frees its request at once", async () => {
    const inner = memoryBroker();
    let answerSubscribe: (() => void) | undefined;
    // A broker whose subscribe answers only when the test says so (a slow Redis).
    const slow: Broker = {
      publish: (topic, event, json) => inner.publish(topic, event, json),
      history: (topic, query) => inner.history(topic, query),
      replay: (topic, lastId) => inner.replay(topic, lastId),
      compareIds: (a, b) => inner.compareIds(a, b),
      close: () => inner.close(),
      subscribe: (topic, deliver) =>
        new Promise((resolve) => {
          answerSubscribe = () => resolve(inner.subscribe(topic, deliver));
        }),
    };
    const app = new App({ logger: false, broker: slow, closeTimeout: 5000 });
    app.sse("/feed", (req) => app.subscribe("feed", { signal: req.signal }));
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const abort = new AbortController();
    const response = fetch(`${url}/feed`, { signal: abort.signal });
    response.catch(() => {});
    await waitFor(() => answerSubscribe !== undefined, "the subscribe to reach the broker");
    const early = await Promise.race([response.then(() => "head"), sleep(200).then(() => "none")]);
    assert.equal(early, "none", "no head before the subscription is live");
    abort.abort();
    await sleep(50);
    const started = performance.now();
    await app.close();
    assert.ok(performance.now() - started < 2000, "close did not wait for the broker");
  });
});
