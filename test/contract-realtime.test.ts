/*
 * app.realtime(path, { contract }): the contract's topics validate every publish (the
 * endpoint's get `invalid` with the issues, nothing stored or delivered), call params are
 * validated before the method runs and its result checked when validateOutput is on, and a
 * client typed with connect<typeof contract>() talks to it end to end. With zod and valibot.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import * as v from "valibot";
import { WebSocket } from "ws";
import { z } from "zod";
import { connect, RealtimeError } from "../src/client/index.js";
import {
  App,
  type Contract,
  defineContract,
  type StandardSchemaV1,
  ValidationError,
} from "../src/index.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { sleep, waitFor, within } from "./support/wait.js";

const zodContract = defineContract({
  topics: { "chat:*": z.object({ text: z.string().trim().min(1).max(50) }) },
  methods: {
    rename: {
      params: z.object({
        name: z
          .string()
          .min(2)
          .transform((name) => name.toUpperCase()),
      }),
      result: z.object({ renamed: z.string() }),
    },
    ping: {},
  },
});

const valibotContract = defineContract({
  topics: { "chat:*": v.object({ text: v.pipe(v.string(), v.trim(), v.minLength(1)) }) },
  methods: {
    rename: {
      params: v.object({
        name: v.pipe(
          v.string(),
          v.minLength(2),
          v.transform((name) => name.toUpperCase()),
        ),
      }),
      result: v.object({ renamed: v.string() }),
    },
    ping: {},
  },
});

/** A Standard Schema that throws instead of answering: the server's bug. */
const throwingSchema: StandardSchemaV1 = {
  "~standard": {
    version: 1,
    vendor: "broken",
    validate() {
      throw new Error("kaboom");
    },
  },
};

const apps: App[] = [];
after(() => Promise.all(apps.map((app) => app.close())));

async function endpoint(
  contract: typeof zodContract | typeof valibotContract,
  options: { validateOutput?: boolean; renamed?: (name: string) => unknown } = {},
) {
  const { logger, lines } = capturedLogger();
  const app = new App({ logger, validateOutput: options.validateOutput ?? true });
  const calls: unknown[] = [];
  app.realtime("/rt", {
    contract,
    subscribe: ["chat:*"],
    publish: ["chat:*"],
    methods: {
      rename: (params) => {
        calls.push(params);
        return (options.renamed?.(params.name) ?? { renamed: params.name }) as { renamed: string };
      },
      ping: () => "pong",
    },
  });
  apps.push(app);
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, url: `${url.replace("http", "ws")}/rt`, calls, lines };
}

function errorOf(reply: Frame): { code: string; message: string; issues?: unknown } {
  assert.equal(reply.ok, false, `expected an error reply, got ${JSON.stringify(reply)}`);
  return reply.error as { code: string; message: string; issues?: unknown };
}

for (const [library, contract] of [
  ["zod", zodContract],
  ["valibot", valibotContract],
] as const) {
  describe(`app.realtime({ contract }) with ${library}`, () => {
    test("a valid publish is stored as the schema's output and delivered; an invalid one gets `invalid` with its issues, and nothing is stored or delivered", async () => {
      const { app, url } = await endpoint(contract);
      const reader = await RealtimePeer.connect(url);
      const writer = await RealtimePeer.connect(url);
      try {
        assert.equal((await reader.request({ type: "subscribe", topic: "chat:1" })).ok, true);
        const refused = errorOf(
          await writer.request({ type: "publish", topic: "chat:1", data: { text: 7 } }),
        );
        assert.equal(refused.code, "invalid");
        assert.match(refused.message, /^Invalid topic "chat:1": text: /);
        const issues = refused.issues as { path: string; pointer: string; message: string }[];
        assert.equal(issues.length, 1);
        assert.equal(issues[0]?.path, "text");
        assert.equal(issues[0]?.pointer, "/text");
        assert.equal(typeof issues[0]?.message, "string");
        assert.deepEqual(await app.history("chat:1"), [], "nothing stored");
        const ok = await writer.request({
          type: "publish",
          topic: "chat:1",
          data: { text: "  hi  " },
        });
        assert.equal(ok.ok, true);
        const [message] = await reader.waitForMessages("chat:1", 1);
        assert.deepEqual(message?.data, { text: "hi" }, "the output (trimmed) is delivered");
        await sleep(30);
        assert.equal(reader.messagesOf("chat:1").length, 1, "the refused publish never came");
        // The contract's topics are the App's: app.publish() is validated the same way.
        await assert.rejects(app.publish("chat:1", { text: "" }), ValidationError);
      } finally {
        await reader.close();
        await writer.close();
      }
    });

    test("call params are validated before the method runs (which gets the output); a result that breaks its schema is `internal`, logged once", async () => {
      const bad = { renamed: 42 };
      const { url, calls, lines } = await endpoint(contract, {
        renamed: (name) => (name === "BAD!" ? bad : { renamed: name }),
      });
      const peer = await RealtimePeer.connect(url);
      try {
        const ok = await peer.request({ type: "call", method: "rename", params: { name: "ada" } });
        assert.deepEqual(ok.result, { renamed: "ADA" });
        assert.deepEqual(calls, [{ name: "ADA" }]);
        const refused = errorOf(
          await peer.request({ type: "call", method: "rename", params: { name: "x" } }),
        );
        assert.equal(refused.code, "invalid");
        assert.match(refused.message, /^Invalid params of "rename": name: /);
        assert.equal((refused.issues as { path: string }[])[0]?.path, "name");
        const missing = errorOf(await peer.request({ type: "call", method: "rename" }));
        assert.equal(missing.code, "invalid");
        assert.equal(calls.length, 1, "the method never ran for refused params");
        const broken = errorOf(
          await peer.request({ type: "call", method: "rename", params: { name: "bad!" } }),
        );
        assert.deepEqual(broken, { code: "internal", message: 'Method "rename" failed' });
        const logged = errorLines(lines);
        assert.equal(logged.length, 1, JSON.stringify(logged));
        assert.match(
          logged[0]?.err?.message ?? "",
          /The app sent an invalid result of "rename": renamed: /,
        );
        assert.equal(
          (await peer.request({ type: "call", method: "ping", params: { any: 1 } })).result,
          "pong",
        );
      } finally {
        await peer.close();
      }
    });
  });
}

describe("app.realtime({ contract }) decisions", () => {
  test("with validateOutput off, a method's result is not checked", async () => {
    const { url } = await endpoint(zodContract, {
      validateOutput: false,
      renamed: () => ({ renamed: 42 }),
    });
    const peer = await RealtimePeer.connect(url);
    try {
      const reply = await peer.request({ type: "call", method: "rename", params: { name: "ada" } });
      assert.deepEqual(reply.result, { renamed: 42 });
    } finally {
      await peer.close();
    }
  });

  test("a contract grants no access: without `publish` and `subscribe` rules its topics are forbidden", async () => {
    const app = new App({ logger: false });
    apps.push(app);
    app.realtime("/rt", {
      contract: zodContract,
      methods: { rename: ({ name }) => ({ renamed: name }), ping: () => null },
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const peer = await RealtimePeer.connect(`${url.replace("http", "ws")}/rt`);
    try {
      const reply = await peer.request({ type: "publish", topic: "chat:1", data: { text: 1 } });
      assert.equal(errorOf(reply).code, "forbidden", "access is checked before the data");
      const sub = await peer.request({ type: "subscribe", topic: "chat:1" });
      assert.equal(errorOf(sub).code, "forbidden");
    } finally {
      await peer.close();
    }
  });

  test("a topic schema that throws gives the publisher `internal`, logged once; the connection and other clients stay", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    apps.push(app);
    app.realtime("/rt", {
      contract: defineContract({ topics: { broken: throwingSchema, fine: z.number() } }),
      subscribe: ["broken", "fine"],
      publish: ["broken", "fine"],
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const wsUrl = `${url.replace("http", "ws")}/rt`;
    const other = await RealtimePeer.connect(wsUrl);
    const peer = await RealtimePeer.connect(wsUrl);
    try {
      await other.request({ type: "subscribe", topic: "fine" });
      const reply = await peer.request({ type: "publish", topic: "broken", data: 1 });
      assert.deepEqual(errorOf(reply), { code: "internal", message: "The publish failed" });
      const logged = errorLines(lines);
      assert.equal(logged.length, 1);
      assert.match(logged[0]?.err?.message ?? "", /The broken schema threw/);
      assert.equal((await peer.request({ type: "publish", topic: "fine", data: 2 })).ok, true);
      await other.waitForMessages("fine", 1);
    } finally {
      await peer.close();
      await other.close();
    }
  });

  test("methods must implement the contract exactly, and the contract must come from defineContract()", () => {
    const app = new App({ logger: false });
    assert.throws(
      () => app.realtime("/a", { contract: zodContract, methods: { ping: () => 1 } } as never),
      /app\.realtime\("\/a"\): the contract's method "rename" has no implementation in methods/,
    );
    assert.throws(
      () =>
        app.realtime("/b", {
          contract: zodContract,
          methods: { ping: () => 1, rename: () => ({ renamed: "" }), extra: () => 1 },
        } as never),
      /app\.realtime\("\/b"\): methods\.extra is not in the contract/,
    );
    assert.throws(
      () => app.realtime("/c", { contract: { topics: {}, methods: {} } } as never),
      /app\.realtime\("\/c"\): contract must be made by defineContract/,
    );
    // Nothing was declared by the refused endpoints: another schema for chat:* is still fine.
    app.topic("chat:*", { schema: z.string() });
  });
});

describe("a client typed with connect<typeof contract>() against the contract's endpoint", () => {
  for (const [library, contract] of [
    ["zod", zodContract],
    ["valibot", valibotContract],
  ] as const) {
    test(`${library}: valid publish delivered, invalid refused with \`invalid\` and nothing delivered, typed call, invalid params refused`, async () => {
      const { url } = await endpoint(contract);
      const rt = connect<typeof contract>(url, { WebSocket, reconnect: false });
      try {
        const received: { text: string }[] = [];
        const subscription = rt.subscribe("chat:lobby", {}, (message) => {
          received.push(message.data);
        });
        await within(subscription.ready, "the subscription");
        const refused = await rt
          .publish("chat:lobby", { text: 5 as unknown as string })
          .catch((error: unknown) => error);
        assert.ok(refused instanceof RealtimeError);
        assert.equal(refused.code, "invalid");
        assert.match(refused.message, /text/);
        assert.equal(refused.issues?.length, 1, "the reply's issues reach the client");
        assert.equal(refused.issues?.[0]?.path, "text");
        assert.equal(refused.issues?.[0]?.pointer, "/text");
        assert.equal(typeof refused.issues?.[0]?.message, "string");
        await rt.publish("chat:lobby", { text: " hello " });
        await waitFor(() => received.length === 1, "the message");
        assert.deepEqual(received, [{ text: "hello" }]);
        const result = await rt.call("rename", { name: "grace" });
        assert.equal(result.renamed, "GRACE");
        assert.equal(await rt.call("ping"), "pong");
        const invalid = await rt.call("rename", { name: "g" }).catch((error: unknown) => error);
        assert.ok(invalid instanceof RealtimeError);
        assert.equal(invalid.code, "invalid");
        assert.match(invalid.message, /Invalid params of "rename": name: /);
        assert.deepEqual(
          invalid.issues?.map((issue) => [issue.path, issue.pointer]),
          [["name", "/name"]],
        );
        assert.equal(
          await rt.call("unknown" as never).catch((error: RealtimeError) => error.issues),
          undefined,
        );
        await sleep(30);
        assert.equal(received.length, 1);
      } finally {
        rt.close();
      }
    });
  }
});

describe("app.realtime({ contract }) review fixes", () => {
  /** An endpoint on a contract of its own, its log captured. */
  async function contractEndpoint(contract: Contract, options: Record<string, unknown> = {}) {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    apps.push(app);
    app.realtime("/rt", { contract, ...options } as never);
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    return { app, url: `${url.replace("http", "ws")}/rt`, lines };
  }

  test("a schema output with no JSON form (undefined, a BigInt) is `internal`, logged once as the schema's fault, never `unavailable` or a broker failure", async () => {
    const { app, url, lines } = await contractEndpoint(
      defineContract({
        topics: {
          nothing: z.object({ a: z.string() }).transform(() => undefined),
          big: z.object({ n: z.string() }).transform(({ n }) => BigInt(n)),
        },
      }),
      { publish: ["nothing", "big"] },
    );
    const peer = await RealtimePeer.connect(url);
    try {
      for (const [topic, data] of [
        ["nothing", { a: "x" }],
        ["big", { n: "12" }],
      ] as const) {
        const before = errorLines(lines).length;
        const reply = await peer.request({ type: "publish", topic, data });
        assert.deepEqual(errorOf(reply), { code: "internal", message: "The publish failed" });
        const logged = errorLines(lines).slice(before);
        assert.equal(logged.length, 1, JSON.stringify(logged));
        assert.match(
          logged[0]?.err?.message ?? "",
          new RegExp(
            `^The schema of topic "${topic}" gave an output that cannot be stored as JSON`,
          ),
        );
        assert.deepEqual(await app.history(topic), []);
      }
      assert.equal(
        lines.filter((line) => /broker/.test(line.msg)).length,
        0,
        "not logged as a broker failure",
      );
    } finally {
      await peer.close();
    }
  });

  test('a publish to a topic only a pattern\'s type covers ("chat:a:b", "chat:") is `invalid`, saying "*" is one segment; another topic outside the contract is `forbidden`', async () => {
    const { app, url, lines } = await contractEndpoint(
      defineContract({ topics: { "chat:*": z.object({ text: z.string() }) } }),
      { subscribe: (topic: string) => topic.startsWith("chat:"), publish: () => true },
    );
    const publisher = await RealtimePeer.connect(url);
    const reader = await RealtimePeer.connect(url);
    try {
      assert.equal((await reader.request({ type: "subscribe", topic: "chat:a:b" })).ok, true);
      for (const topic of ["chat:a:b", "chat:"]) {
        const refused = errorOf(
          await publisher.request({ type: "publish", topic, data: { text: 1, evil: "<script>" } }),
        );
        assert.equal(refused.code, "invalid", topic);
        assert.ok(
          refused.message.includes(`Topic ${JSON.stringify(topic)} matches no declared topic`),
        );
        assert.match(refused.message, /"chat:\*"/);
        assert.match(refused.message, /"\*" is one whole segment/);
        assert.deepEqual(await app.history(topic), [], `${topic}: nothing stored`);
      }
      const outside = errorOf(
        await publisher.request({ type: "publish", topic: "news", data: { any: 1 } }),
      );
      assert.deepEqual(outside, {
        code: "forbidden",
        message: '"news" is not a topic of this endpoint\'s contract',
      });
      await sleep(30);
      assert.deepEqual(reader.messagesOf("chat:a:b"), [], "the subscriber got nothing");
      assert.deepEqual(errorLines(lines), []);
    } finally {
      await publisher.close();
      await reader.close();
    }
  });

  test("the publish function runs after the schema, on its output: malformed data (null) is `invalid` and never reaches it", async () => {
    const seen: unknown[] = [];
    const { url, lines } = await contractEndpoint(
      defineContract({ topics: { "doc:*": z.object({ owner: z.string().trim() }) } }),
      {
        subscribe: ["doc:*"],
        publish: (_topic: string, data: { owner: string }) => {
          seen.push(data);
          return data.owner === "ada";
        },
      },
    );
    const peer = await RealtimePeer.connect(url);
    try {
      const refused = errorOf(await peer.request({ type: "publish", topic: "doc:1", data: null }));
      assert.equal(refused.code, "invalid");
      assert.match(refused.message, /^Invalid topic "doc:1"/);
      assert.deepEqual(seen, [], "the rule never saw data the schema refused");
      const denied = errorOf(
        await peer.request({ type: "publish", topic: "doc:1", data: { owner: "bob" } }),
      );
      assert.equal(denied.code, "forbidden");
      const ok = await peer.request({
        type: "publish",
        topic: "doc:1",
        data: { owner: "  ada ", extra: 1 },
      });
      assert.equal(ok.ok, true);
      assert.deepEqual(
        seen.at(-1),
        { owner: "ada" },
        "the rule saw the output (trimmed, stripped)",
      );
      assert.deepEqual(errorLines(lines), [], "nothing logged for a client's bad data");
    } finally {
      await peer.close();
    }
  });

  test("an invalid reply lists at most 100 issues (the message counts the rest) and cuts each message at 300 characters", async () => {
    const longMessage = `${"m".repeat(400)}`;
    const { url } = await contractEndpoint(
      defineContract({
        topics: {
          many: z.array(z.string()),
          wordy: z.string().refine(() => false, longMessage),
        },
        methods: { sum: { params: z.array(z.number()) } },
      }),
      { publish: ["many", "wordy"], methods: { sum: (numbers: number[]) => numbers.length } },
    );
    const peer = await RealtimePeer.connect(url);
    try {
      const many = errorOf(
        await peer.request({ type: "publish", topic: "many", data: Array(101).fill(0) }),
      );
      assert.equal((many.issues as unknown[]).length, 100);
      assert.match(many.message, /^Invalid topic "many": \[0\]: .* \(and 100 more issues\)$/);
      const calls = errorOf(
        await peer.request({ type: "call", method: "sum", params: Array(150).fill("x") }),
      );
      assert.equal((calls.issues as unknown[]).length, 100);
      assert.match(calls.message, /\(and 149 more issues\)$/);
      const wordy = errorOf(await peer.request({ type: "publish", topic: "wordy", data: "x" }));
      const [issue] = wordy.issues as { message: string }[];
      assert.equal(issue?.message.length, 300);
      assert.equal(issue?.message, `${"m".repeat(299)}…`);
    } finally {
      await peer.close();
    }
  });

  test("a refused app.realtime() (its path taken) leaves none of its contract's topics declared", async () => {
    const contract = defineContract({ topics: { "chat:*": z.object({ text: z.string() }) } });
    const app = new App({ logger: false });
    apps.push(app);
    app.websocket("/ws", async () => {});
    app.get("/http", () => "taken");
    assert.throws(() => app.realtime("/ws", { contract }), /already registered/);
    assert.throws(() => app.realtime("/http", { contract }), /already registered/);
    // No endpoint serves the contract: its schema validates nothing, and is free to declare.
    await app.publish("chat:1", { anything: true } as never);
    app.topic("chat:*", { schema: z.number() });
    await assert.rejects(app.publish("chat:1", "x" as never), ValidationError);
    // A topic the App declared before keeps its declaration when the endpoint is refused.
    const shared = z.object({ n: z.number() });
    app.topic("shared", { schema: shared });
    assert.throws(
      () => app.realtime("/ws", { contract: defineContract({ topics: { shared } }) }),
      /already registered/,
    );
    await assert.rejects(app.publish("shared", { n: "1" } as never), ValidationError);
  });
});
