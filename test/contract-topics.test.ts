/*
 * app.topic(nameOrPattern, { schema }): publishes are validated once, before anything is
 * stored (memory and Redis brokers), the schema's output is what subscribers get, patterns
 * match as app.realtime()'s do, and a second schema for one topic is refused when declared.
 * With zod and valibot.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import * as v from "valibot";
import WebSocket from "ws";
import { z } from "zod";
import {
  App,
  defineContract,
  SchemaError,
  type StandardSchemaV1,
  ValidationError,
} from "../src/index.js";
import { readyForHead } from "../src/sse/head-after-ready.js";
import { bothBrokers } from "./support/both-brokers.js";
import { RedisServer } from "./support/redis-server.js";
import { SseClient } from "./support/sse-client.js";
import { waitFor, within } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());
const brokers = bothBrokers(redis, "contract-topics");

const libraries = [
  {
    name: "zod",
    chat: z.object({ text: z.string().trim().max(20), room: z.string().default("lobby") }),
  },
  {
    name: "valibot",
    chat: v.object({
      text: v.pipe(v.string(), v.trim(), v.maxLength(20)),
      room: v.optional(v.string(), "lobby"),
    }),
  },
];

/** A Standard Schema of its own: counts its runs, and throws or answers as told. */
function countingSchema(behaviour: "pass" | "throw" | "async-refuse" = "pass") {
  const schema = {
    runs: 0,
    "~standard": {
      version: 1 as const,
      vendor: "counting",
      validate(value: unknown) {
        schema.runs++;
        if (behaviour === "throw") throw new Error("the schema blew up");
        if (behaviour === "async-refuse") {
          return Promise.resolve({ issues: [{ message: "never good", path: ["a", 0] }] });
        }
        return { value };
      },
    },
  };
  return schema as typeof schema & StandardSchemaV1<unknown, unknown>;
}

for (const { name: library, chat } of libraries) {
  for (const { name: brokerName, make } of brokers) {
    describe(`app.topic() with ${library} on the ${brokerName}`, () => {
      test("a valid publish stores and delivers the schema's output (trimmed, defaulted)", async () => {
        const app = new App({ logger: false, broker: make() }).topic("chat:*", { schema: chat });
        try {
          const subscription = app.subscribe("chat:1");
          // Live on the broker (on Redis: subscribed) before anything is published.
          await subscription[readyForHead]();
          await app.publish("chat:1", { text: "  hi  " });
          const { value } = await within(subscription.next(), "the delivered event");
          assert.deepEqual(value?.data, { text: "hi", room: "lobby" });
          const stored = await app.history("chat:1");
          assert.deepEqual(
            stored.map((message) => message.data),
            [{ text: "hi", room: "lobby" }],
          );
          subscription.end();
        } finally {
          await app.close();
        }
      });

      test("an invalid publish rejects with a ValidationError naming the topic, the path and the rule; nothing is stored or delivered", async () => {
        const app = new App({ logger: false, broker: make() }).topic("chat:*", { schema: chat });
        try {
          const subscription = app.subscribe("chat:1");
          // Live on the broker (on Redis: subscribed) before anything is published.
          await subscription[readyForHead]();
          const refused = await app
            .publish("chat:1", { text: 42 } as unknown as { text: string })
            .then(
              () => assert.fail("the publish was accepted"),
              (error: unknown) => error,
            );
          assert.ok(refused instanceof ValidationError, String(refused));
          assert.equal(refused.status, 400);
          assert.equal(refused.target, 'topic "chat:1"');
          assert.equal(refused.issues[0]?.path, "text");
          assert.equal(refused.issues[0]?.pointer, "/text");
          assert.match(refused.message, /^Invalid topic "chat:1": text: /);
          assert.deepEqual(await app.history("chat:1"), [], "nothing stored");
          // The next valid publish is the first thing the subscriber sees.
          await app.publish("chat:1", { text: "ok" });
          const { value } = await within(subscription.next(), "the delivered event");
          assert.deepEqual(value?.data, { text: "ok", room: "lobby" });
          subscription.end();
        } finally {
          await app.close();
        }
      });
    });
  }
}

describe("app.topic() patterns and declarations", () => {
  test("a topic's own name wins over patterns; patterns match in the order declared; undeclared topics take anything", async () => {
    const app = new App({ logger: false })
      .topic("*:lobby", { schema: z.object({ lobby: z.literal(true) }) })
      .topic("chat:*", { schema: z.object({ chat: z.literal(true) }) })
      .topic("chat:admin", { schema: z.object({ admin: z.literal(true) }) });
    try {
      await app.publish("chat:admin", { admin: true });
      await assert.rejects(app.publish("chat:admin", { chat: true } as never), ValidationError);
      // "*:lobby" was declared first: it decides for chat:lobby.
      await app.publish("chat:lobby", { lobby: true } as never);
      await assert.rejects(app.publish("chat:lobby", { chat: true }), ValidationError);
      await app.publish("chat:room", { chat: true });
      await app.publish("news", 42);
      assert.equal((await app.history("news")).length, 1);
    } finally {
      await app.close();
    }
  });

  test('a topic only a pattern\'s type covers ("chat:a:b", "chat:" for "chat:*") is refused with a TypeError naming the pattern, nothing stored', async () => {
    const app = new App({ logger: false })
      .topic("chat:*", { schema: z.object({ text: z.string() }) })
      .topic("*:admin", { schema: z.object({ admin: z.literal(true) }) });
    try {
      for (const [topic, pattern] of [
        ["chat:a:b", "chat:*"],
        ["chat:", "chat:*"],
        [":admin", "*:admin"],
        ["eu:west:admin", "*:admin"],
      ] as const) {
        const error = await app
          .publish(topic, { text: 1, evil: "<script>" } as never)
          .catch((caught: unknown) => caught);
        assert.ok(error instanceof TypeError, `${topic}: ${String(error)}`);
        assert.ok(!(error instanceof ValidationError));
        assert.ok(
          error.message.includes(`Topic ${JSON.stringify(topic)} matches no declared topic`),
        );
        assert.ok(error.message.includes(`one of ${JSON.stringify(pattern)}`), error.message);
        assert.match(error.message, /"\*" is one whole segment/);
        assert.deepEqual(await app.history(topic), [], `${topic}: nothing stored`);
      }
      // A topic declared under its own name is its own; others matching nothing are free.
      app.topic("chat:a:b", { schema: z.number() });
      await app.publish("chat:a:b", 1 as never);
      await app.publish("chatter", { any: "thing" });
      await app.publish("news:a:b", [1]);
      // A long name that looks like a pattern's is answered quickly (a scan, no backtracking).
      const started = performance.now();
      await assert.rejects(app.publish(`${":".repeat(1000)}admin`, 1), TypeError);
      assert.ok(performance.now() - started < 200);
    } finally {
      await app.close();
    }
  });

  test("a schema whose output has no JSON form (undefined, a BigInt, a cycle) rejects the publish with a TypeError that blames the schema's output, nothing stored", async () => {
    const cyclic = z.object({ a: z.string() }).transform((value) => {
      const loop: Record<string, unknown> = { ...value };
      loop.self = loop;
      return loop;
    });
    for (const { name: brokerName, make } of brokers) {
      const app = new App({ logger: false, broker: make() })
        .topic("nothing", { schema: z.object({ a: z.string() }).transform(() => undefined) })
        .topic("big", { schema: z.object({ n: z.string() }).transform(({ n }) => BigInt(n)) })
        .topic("cyclic", { schema: cyclic });
      try {
        for (const [topic, data, why] of [
          ["nothing", { a: "x" }, /\(it is undefined\)/],
          ["big", { n: "12" }, /\(.*BigInt.*\)/],
          ["cyclic", { a: "x" }, /\(.*circular.*\)/i],
        ] as const) {
          const error = await app.publish(topic, data).catch((caught: unknown) => caught);
          assert.ok(error instanceof TypeError, `${brokerName} ${topic}: ${String(error)}`);
          assert.ok(
            error.message.startsWith(
              `The schema of topic "${topic}" gave an output that cannot be stored as JSON (`,
            ),
            error.message,
          );
          assert.match(error.message, why);
          assert.doesNotMatch(error.message, /needs data/);
          assert.deepEqual(await app.history(topic), [], `${brokerName} ${topic}: nothing stored`);
        }
        // Data published as given keeps its own message.
        await assert.rejects(app.publish("free", undefined), /publish\(\) needs data/);
      } finally {
        await app.close();
      }
    }
  });

  test("the same name or pattern declared with another schema is a TypeError; with the same schema it is fine", () => {
    const schema = z.object({ text: z.string() });
    const app = new App({ logger: false }).topic("chat:*", { schema });
    app.topic("chat:*", { schema });
    assert.throws(
      () => app.topic("chat:*", { schema: z.object({ text: z.string() }) }),
      (error: unknown) =>
        error instanceof TypeError &&
        /app\.topic\("chat:\*"\): topic "chat:\*" is declared already, with another schema/.test(
          error.message,
        ),
    );
    // A contract's topics are declared as the App's: the clash is caught there too.
    const contract = defineContract({ topics: { "chat:*": v.object({ text: v.string() }) } });
    assert.throws(
      () => app.realtime("/rt", { contract }),
      /app\.realtime\("\/rt"\) contract: topic "chat:\*" is declared already/,
    );
  });

  test("what cannot be declared is a TypeError that says what can", () => {
    const app = new App({ logger: false });
    const schema = z.string();
    assert.throws(() => app.topic("chat:a*", { schema }), /"\*" stands for a whole segment/);
    assert.throws(() => app.topic("", { schema }), /is not a topic name or pattern/);
    assert.throws(() => app.topic("a b", { schema }), /is not a topic name or pattern/);
    assert.throws(
      () => app.topic("chat", { schema: { parse() {} } } as never),
      /app\.topic\("chat"\) topic "chat": schema must be a Standard Schema/,
    );
    assert.throws(() => app.topic("chat", {} as never), /topic "chat" needs \{ schema \}/);
    assert.throws(() => app.topic("chat", null as never), /options must be an object \{ schema \}/);
    assert.throws(
      () => app.topic("chat", { schema, history: 5 } as never),
      /unknown option "history"/,
    );
  });

  test("an async schema is awaited: its refusal rejects with a ValidationError and stores nothing", async () => {
    const refuse = countingSchema("async-refuse");
    const asyncZod = z.object({ n: z.number() }).refine(async (value) => value.n > 0, "n > 0");
    const app = new App({ logger: false })
      .topic("never", { schema: refuse })
      .topic("positive", { schema: asyncZod });
    try {
      const error = await app.publish("never", 1).catch((caught: unknown) => caught);
      assert.ok(error instanceof ValidationError);
      assert.equal(error.issues[0]?.path, "a[0]");
      await app.publish("positive", { n: 1 });
      await assert.rejects(app.publish("positive", { n: -1 }), /Invalid topic "positive": n > 0/);
      assert.equal((await app.history("never")).length, 0);
      assert.equal((await app.history("positive")).length, 1);
    } finally {
      await app.close();
    }
  });

  test("a schema that throws rejects the publish with a SchemaError (the server's bug), nothing stored", async () => {
    const app = new App({ logger: false }).topic("broken", { schema: countingSchema("throw") });
    try {
      const error = await app.publish("broken", { a: 1 }).catch((caught: unknown) => caught);
      assert.ok(error instanceof SchemaError, String(error));
      assert.match(error.message, /The counting schema threw instead of returning issues/);
      assert.equal((await app.history("broken")).length, 0);
    } finally {
      await app.close();
    }
  });

  test("a publish is validated once, however many subscribers (SSE, WebSocket, iterators) follow the topic", async () => {
    const schema = countingSchema();
    const app = new App({ logger: false }).topic("feed", { schema });
    app.sse("/feed", (req) => app.subscribe("feed", { signal: req.signal }));
    app.websocket("/ws", async (socket) => {
      await socket.subscribe("feed");
      await socket.send(JSON.stringify({ subscribed: true }));
      for await (const _ of socket);
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const sse = [new SseClient(`${url}/feed`), new SseClient(`${url}/feed`)];
    const ws = new WebSocket(`${url.replace("http", "ws")}/ws`);
    const received: unknown[] = [];
    ws.on("message", (data) => received.push(JSON.parse(String(data))));
    try {
      await waitFor(() => received.length === 1, "the socket's subscription", 5000);
      await waitFor(() => app.topicSubscribers === 3, "three subscribers", 5000);
      await app.publish("feed", { n: 1 });
      await Promise.all(sse.map((client) => client.waitForEvents(1)));
      await waitFor(() => received.length === 2, "the socket's message", 5000);
      assert.deepEqual(
        sse.map((client) => client.messages),
        [[{ n: 1 }], [{ n: 1 }]],
      );
      assert.equal(schema.runs, 1);
    } finally {
      ws.close();
      await app.close();
    }
  });
});
