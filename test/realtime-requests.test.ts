/*
 * app.realtime() over WebSocket: publish and call requests, their errors, and frames that
 * are not requests at all. Every bad request gets an error reply and the connection stays,
 * until a frame is too large (1009) or they come too fast (1008).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { App, HttpError } from "../src/index.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { sleep } from "./support/wait.js";

const { logger, lines } = capturedLogger("info");
let app: App;
let url: string;
const publishRuleSaw: unknown[] = [];

before(async () => {
  app = new App({ logger });
  app.realtime("/rt", {
    subscribe: ["chat:*", "rule:*"],
    publish: (topic, data, ctx) => {
      publishRuleSaw.push({ topic, data, clientId: ctx.clientId });
      if (topic === "chat:boom") throw new Error("rule exploded");
      return topic.startsWith("chat:") && (data as { text?: unknown })?.text !== "spam";
    },
    methods: {
      add: (params) => (params as { a: number }).a + (params as { b: number }).b,
      later: async () => {
        await sleep(5);
        return { done: true };
      },
      nothing: () => undefined,
      refuse: () => {
        throw new HttpError(403, "Only admins may do this");
      },
      gone: () => {
        throw new HttpError(404, "No such room");
      },
      teapot: () => {
        throw new HttpError(418, "I'm a teapot");
      },
      crash: () => {
        throw new Error("database password is hunter2");
      },
      bigint: () => 10n,
      slow: () => new Promise(() => {}),
    },
    callTimeout: 200,
    maxPayload: 4096,
    messageRate: { messages: 20, perMs: 1000 },
  });
  const listening = await app.listen({ port: 0, host: "127.0.0.1" });
  url = `${listening.url.replace(/^http/, "ws")}/rt`;
});
after(() => app.close());

const errorOf = (reply: Frame) => reply.error as { code: string; message: string };

describe("app.realtime publish", () => {
  test("an allowed publish stores the message, replies its id and subscribers get it", async () => {
    const peer = await RealtimePeer.connect(url);
    await peer.request({ type: "subscribe", topic: "chat:pub" });
    const reply = await peer.request({
      type: "publish",
      topic: "chat:pub",
      data: { text: "hi" },
      event: "said",
    });
    assert.equal(reply.ok, true);
    const { id } = reply.result as { id: string };
    const [message] = await peer.waitForMessages("chat:pub", 1);
    assert.deepEqual(message, {
      type: "message",
      topic: "chat:pub",
      id,
      event: "said",
      data: { text: "hi" },
    });
    assert.deepEqual(
      (await app.history("chat:pub")).map((m) => m.id),
      [id],
    );
    await peer.close();
  });

  test("a refused publish is forbidden, stores nothing, and the connection stays", async () => {
    const peer = await RealtimePeer.connect(url);
    const refused = await peer.request({ type: "publish", topic: "admin", data: 1 });
    assert.deepEqual(refused.error, {
      code: "forbidden",
      message: 'Not allowed to publish to "admin"',
    });
    const spam = await peer.request({
      type: "publish",
      topic: "chat:spam",
      data: { text: "spam" },
    });
    assert.equal(errorOf(spam).code, "forbidden", "the rule saw the data");
    assert.deepEqual(
      publishRuleSaw.find((seen) => (seen as { topic: string }).topic === "chat:spam"),
      { topic: "chat:spam", data: { text: "spam" }, clientId: peer.frames[0]?.clientId },
    );
    assert.equal((await app.history("chat:spam")).length, 0);
    assert.equal(
      (await peer.request({ type: "call", method: "add", params: { a: 1, b: 1 } })).result,
      2,
    );
    await peer.close();
  });

  test("a rule that throws gives internal, logged, and the connection stays", async () => {
    const peer = await RealtimePeer.connect(url);
    const reply = await peer.request({ type: "publish", topic: "chat:boom", data: 1 });
    assert.deepEqual(reply.error, { code: "internal", message: "The publish rule failed" });
    assert.ok(
      lines.some(
        (line) =>
          line.msg === "the realtime publish rule failed" && line.err?.message === "rule exploded",
      ),
    );
    assert.equal((await peer.request({ type: "subscribe", topic: "chat:ok" })).ok, true);
    await peer.close();
  });

  test("a publish with a mid is stored once however often it is retried (broker dedupe)", async () => {
    const peer = await RealtimePeer.connect(url);
    const frame = { type: "publish", topic: "chat:dedupe", data: { text: "once" }, mid: "m-1" };
    const first = await peer.request(frame);
    await peer.close();
    const again = await RealtimePeer.connect(url);
    const retried = await again.request(frame);
    assert.deepEqual(retried.result, first.result);
    assert.equal((await app.history("chat:dedupe")).length, 1);
    await again.close();
  });
});

describe("app.realtime call", () => {
  test("a method's result is the reply, sync or async, null when it returns nothing", async () => {
    const peer = await RealtimePeer.connect(url);
    assert.equal(
      (await peer.request({ type: "call", method: "add", params: { a: 2, b: 3 } })).result,
      5,
    );
    assert.deepEqual((await peer.request({ type: "call", method: "later" })).result, {
      done: true,
    });
    const nothing = await peer.request({ type: "call", method: "nothing", ref: "s-1" });
    assert.deepEqual([nothing.ok, nothing.result, nothing.ref], [true, null, "s-1"]);
    await peer.close();
  });

  test("HttpErrors map to codes with their message; other throws are internal and logged", async () => {
    const peer = await RealtimePeer.connect(url);
    assert.deepEqual((await peer.request({ type: "call", method: "refuse" })).error, {
      code: "forbidden",
      message: "Only admins may do this",
    });
    assert.equal(errorOf(await peer.request({ type: "call", method: "gone" })).code, "not_found");
    assert.equal(errorOf(await peer.request({ type: "call", method: "teapot" })).code, "internal");
    const crash = await peer.request({ type: "call", method: "crash" });
    assert.deepEqual(crash.error, { code: "internal", message: 'Method "crash" failed' });
    assert.ok(
      errorLines(lines).some((line) => line.err?.message === "database password is hunter2"),
    );
    assert.equal(errorOf(await peer.request({ type: "call", method: "bigint" })).code, "internal");
    assert.deepEqual((await peer.request({ type: "call", method: "missing" })).error, {
      code: "not_found",
      message: 'No method "missing"',
    });
    assert.equal(
      errorOf(await peer.request({ type: "call", method: "toString" })).code,
      "not_found",
    );
    assert.equal(errorOf(await peer.request({ type: "call", method: "slow" })).code, "timeout");
    assert.equal(peer.ws.readyState, peer.ws.OPEN);
    await peer.close();
  });
});

describe("app.realtime malformed frames", () => {
  const cases: [string, string, unknown][] = [
    ["not JSON", "{nope", null],
    ["not an object", "[1,2]", null],
    ["a JSON string", '"subscribe"', null],
    ["no ref", '{"type":"subscribe","topic":"chat:a"}', null],
    ["a ref too long", JSON.stringify({ type: "call", method: "add", ref: "r".repeat(65) }), null],
    ["a fractional ref", '{"type":"call","method":"add","ref":1.5}', null],
    ["an unknown type", '{"type":"shout","ref":7}', 7],
    ["no type", '{"ref":8}', 8],
    ["a topic that is not a string", '{"type":"subscribe","ref":9,"topic":5}', 9],
    ["an empty topic", '{"type":"unsubscribe","ref":10,"topic":""}', 10],
    ["a replay of 0", '{"type":"subscribe","ref":11,"topic":"chat:a","replay":0}', 11],
    // The same cap as app.subscribe's: a replay is held in memory until the peer reads it.
    [
      "a replay over 10 000",
      '{"type":"subscribe","ref":"r11","topic":"chat:a","replay":10001}',
      "r11",
    ],
    ["a since that is a number", '{"type":"subscribe","ref":12,"topic":"chat:a","since":3}', 12],
    ["a publish without data", '{"type":"publish","ref":13,"topic":"chat:a"}', 13],
    [
      "the reserved event",
      '{"type":"publish","ref":14,"topic":"chat:a","data":1,"event":"reset"}',
      14,
    ],
    // Presence events only the server sends: a client must not forge a member joining.
    [
      "the presence event join",
      '{"type":"publish","ref":"j14","topic":"chat:a","data":{"clientId":"admin"},"event":"join","store":false}',
      "j14",
    ],
    [
      "the presence event leave",
      '{"type":"publish","ref":"l14","topic":"chat:a","data":{"clientId":"admin"},"event":"leave"}',
      "l14",
    ],
    [
      "the credentials-expired notice",
      '{"type":"publish","ref":"e14","topic":"chat:a","data":{},"event":"expired","store":false}',
      "e14",
    ],
    [
      "an event over two lines",
      '{"type":"publish","ref":15,"topic":"chat:a","data":1,"event":"a\\nb"}',
      15,
    ],
    [
      "a mid too long",
      JSON.stringify({ type: "publish", ref: 16, topic: "chat:a", data: 1, mid: "m".repeat(65) }),
      16,
    ],
    ["a call without method", '{"type":"call","ref":17}', 17],
    // The ref is read even so (a second parse keeping the key), so the reply finds its request.
    [
      "a __proto__ key in params",
      '{"type":"call","ref":18,"method":"add","params":{"__proto__":{"x":1}}}',
      18,
    ],
    [
      "a constructor.prototype key in publish data",
      '{"type":"publish","ref":"p19","topic":"chat:a","data":{"constructor":{"prototype":1}}}',
      "p19",
    ],
    ["a __proto__ key at the top", '{"type":"call","ref":20,"method":"add","__proto__":{}}', 20],
    ["a __proto__ key and no ref", '{"type":"call","method":"add","__proto__":{}}', null],
  ];
  for (const [what, text, ref] of cases) {
    test(`${what}: an invalid reply (ref ${JSON.stringify(ref)}), the connection stays`, async () => {
      const peer = await RealtimePeer.connect(url);
      peer.send(text);
      const reply = await peer.reply(ref);
      assert.equal(reply.ok, false);
      assert.equal(errorOf(reply).code, "invalid");
      assert.ok(errorOf(reply).message.length > 10, errorOf(reply).message);
      assert.equal(
        (await peer.request({ type: "call", method: "add", params: { a: 1, b: 2 } })).result,
        3,
      );
      await peer.close();
    });
  }

  test("a binary frame gets an invalid reply", async () => {
    const peer = await RealtimePeer.connect(url);
    peer.send(Buffer.from('{"type":"call","ref":1,"method":"add"}'));
    const reply = await peer.reply(null);
    assert.match(errorOf(reply).message, /Binary frames/);
    await peer.close();
  });

  test("unknown fields are ignored", async () => {
    const peer = await RealtimePeer.connect(url);
    const reply = await peer.request({
      type: "call",
      method: "add",
      params: { a: 1, b: 1 },
      extra: true,
      problem: "x",
    });
    assert.equal(reply.result, 2);
    await peer.close();
  });

  test("a frame over maxPayload closes with 1009", async () => {
    const peer = await RealtimePeer.connect(url);
    peer.send(JSON.stringify({ type: "publish", ref: 1, topic: "chat:a", data: "x".repeat(5000) }));
    assert.equal((await peer.closed).code, 1009);
  });

  test("a flood of malformed frames hits the message rate: 1008", async () => {
    const peer = await RealtimePeer.connect(url);
    for (let i = 0; i < 50; i++) peer.send("garbage");
    const { code } = await peer.closed;
    assert.equal(code, 1008);
    assert.ok(peer.frames.filter((frame) => frame.type === "reply").length <= 21);
  });
});
