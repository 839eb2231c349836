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
import { App, defineContract, type StandardSchemaV1, ValidationError } from "../src/index.js";
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
        await sleep(30);
        assert.equal(received.length, 1);
      } finally {
        rt.close();
      }
    });
  }
});
