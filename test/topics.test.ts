import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { App, memoryBroker } from "../src/index.js";
import { quietApp } from "./helpers.js";
import { SseClient } from "./support/sse-client.js";
import { topicSemantics } from "./support/topic-semantics.js";

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

describe("topic API input checks", () => {
  test("publish refuses bad topics, event types and data with a TypeError", async () => {
    const app = quietApp();
    for (const topic of ["", 42, undefined, "x".repeat(1025)]) {
      await assert.rejects(app.publish(topic as string, 1), /topic must be a non-empty string/);
    }
    await assert.rejects(app.publish("t", 1, { event: "a\nb" }), /without CR or LF/);
    await assert.rejects(app.publish("t", 1, { event: "reset" }), /reserved/);
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
