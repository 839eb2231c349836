// Typed WebSocket routes (issue 21): `app.websocket(path, { message, send, onInvalid })` with
// zod and with valibot, over real sockets (the `ws` client of TestClient).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import {
  App,
  type AppOptions,
  HttpError,
  OutputValidationError,
  type SchemaWebSocket,
  type StandardSchemaV1,
  ValidationError,
  WebSocketMessage,
} from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { waitFor, within } from "./support/wait.js";

/** The schemas each library writes the same way: one suite runs per library. */
interface Schemas {
  /** `text` is upper-cased and `count` defaults to 1: the handler gets the output. */
  chat: StandardSchemaV1<{ text: string; count?: number }, { text: string; count: number }>;
  reply: StandardSchemaV1<{ echo: string; count: number }>;
  word: StandardSchemaV1<string>;
  /** Throws (instead of returning issues) for the text "boom". */
  throwing: StandardSchemaV1<{ text: string }>;
  /** Async: refuses the text "no". */
  slow: StandardSchemaV1<{ text: string }>;
  /** Recursive: one level of the library's recursion per level of the value. */
  tree: StandardSchemaV1<unknown, Tree>;
  /** Async, one more turn per tag: a reply with more tags takes longer to check. */
  slowReply: StandardSchemaV1<{ seq: number; tags: string[] }>;
}

interface Tree {
  children: Tree[];
}
const zodTree: z.ZodType<Tree, unknown> = z.lazy(() => z.object({ children: z.array(zodTree) }));
const valibotTree: v.GenericSchema<Tree> = v.lazy(() =>
  v.object({ children: v.array(valibotTree) }),
);

async function tagged(): Promise<boolean> {
  await new Promise(setImmediate);
  return true;
}

function explode(text: string): boolean {
  if (text === "boom") throw new Error("the schema's own bug");
  return true;
}

const libraries: Record<string, Schemas> = {
  zod: {
    chat: z.object({
      text: z.string().transform((text) => text.toUpperCase()),
      count: z.number().default(1),
    }),
    reply: z.object({ echo: z.string(), count: z.number() }),
    word: z.string(),
    throwing: z.object({ text: z.string().refine(explode) }),
    slow: z.object({
      text: z.string().refine(async (text) => text !== "no", "must not be no"),
    }),
    tree: zodTree,
    slowReply: z.object({ seq: z.number(), tags: z.array(z.string().refine(tagged)) }),
  },
  valibot: {
    chat: v.object({
      text: v.pipe(
        v.string(),
        v.transform((text) => text.toUpperCase()),
      ),
      count: v.optional(v.number(), 1),
    }),
    reply: v.object({ echo: v.string(), count: v.number() }),
    word: v.string(),
    throwing: v.object({ text: v.pipe(v.string(), v.check(explode)) }),
    slow: v.objectAsync({
      text: v.pipeAsync(
        v.string(),
        v.checkAsync(async (text) => text !== "no", "must not be no"),
      ),
    }),
    tree: valibotTree,
    slowReply: v.objectAsync({
      seq: v.number(),
      tags: v.arrayAsync(v.pipeAsync(v.string(), v.checkAsync(tagged))),
    }),
  },
};

/** An app whose `/chat` route echoes what its schema made of each message. */
function chatApp(schemas: Schemas, onInvalid?: "close" | "skip", options: AppOptions = {}): App {
  const app = quietApp(options);
  app.websocket(
    "/chat",
    { message: schemas.chat, send: schemas.reply, onInvalid },
    async (socket) => {
      for await (const message of socket) {
        await socket.send({ echo: message.text, count: message.count });
      }
    },
  );
  return app;
}

for (const [library, schemas] of Object.entries(libraries)) {
  describe(`app.websocket() with a ${library} message schema`, () => {
    test("the loop yields the schema's output: transforms and defaults applied", async () => {
      await using client = await TestClient.start(chatApp(schemas));
      const ws = await client.websocketConnect("/chat");
      await ws.sendJson({ text: "hi" });
      assert.deepEqual(await ws.receiveJson(), { echo: "HI", count: 1 });
      await ws.sendJson({ text: "again", count: 3 });
      assert.deepEqual(await ws.receiveJson(), { echo: "AGAIN", count: 3 });
      // A binary frame is JSON too, read as UTF-8.
      await ws.send(Buffer.from('{"text":"bytes"}'));
      assert.deepEqual(await ws.receiveJson(), { echo: "BYTES", count: 1 });
      assert.deepEqual(await ws.close(1000), { code: 1000, reason: "" });
    });

    test("receive() yields validated output too", async () => {
      const app = quietApp();
      app.websocket("/one", { message: schemas.chat }, async (socket) => {
        const first = await socket.receive();
        await socket.send(first);
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/one");
      await ws.sendJson({ text: "once" });
      assert.deepEqual(await ws.receiveJson(), { text: "ONCE", count: 1 });
      assert.equal((await ws.closed).code, 1000);
    });

    test("text that is not JSON closes with 1007 after the messages before it", async () => {
      const seen: unknown[] = [];
      const app = quietApp();
      app.websocket("/chat", { message: schemas.chat }, async (socket) => {
        for await (const message of socket) seen.push(message);
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/chat");
      await ws.sendJson({ text: "before" });
      await ws.send("hello there");
      await ws.sendJson({ text: "after" });
      const closed = await within(ws.closed, "the close");
      assert.equal(closed.code, 1007);
      assert.match(closed.reason, /^invalid message: Not JSON: /);
      assert.deepEqual(seen, [{ text: "BEFORE", count: 1 }]);
    });

    test("a __proto__ key is refused with 1007, as receiveJson() refuses it", async () => {
      await using client = await TestClient.start(chatApp(schemas));
      const ws = await client.websocketConnect("/chat");
      await ws.send('{"text":"x","__proto__":{"admin":true}}');
      const closed = await within(ws.closed, "the close");
      assert.equal(closed.code, 1007);
      assert.match(closed.reason, /__proto__/);
    });

    test("a schema failure closes with 1008 naming the first issue's path and rule", async () => {
      const { logger, lines } = capturedLogger();
      await using client = await TestClient.start(chatApp(schemas, undefined, { logger }));
      const ws = await client.websocketConnect("/chat");
      await ws.sendJson({ text: "fine" });
      assert.deepEqual(await ws.receiveJson(), { echo: "FINE", count: 1 });
      await ws.sendJson({ text: 5 });
      const closed = await within(ws.closed, "the close");
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /^invalid message: text: .*string/i);
      assert.ok(Buffer.byteLength(closed.reason) <= 123);
      const refusal = lines.find((line) => line.msg.includes("refused by its schema"));
      assert.ok(refusal, "the refusal is logged");
      assert.equal(refusal.level, 30);
      assert.deepEqual(errorLines(lines), []);
    });

    test('onInvalid "skip" drops the message and the loop goes on', async () => {
      await using client = await TestClient.start(chatApp(schemas, "skip"));
      const ws = await client.websocketConnect("/chat");
      await ws.send("not json");
      await ws.sendJson({ text: 1 });
      await ws.sendJson({ text: "kept" });
      assert.deepEqual(await ws.receiveJson(), { echo: "KEPT", count: 1 });
      assert.deepEqual(await ws.close(1000), { code: 1000, reason: "" });
    });

    test("an onInvalid function may reply; the message is skipped", async () => {
      const raws: unknown[] = [];
      const app = quietApp();
      app.websocket(
        "/chat",
        {
          message: schemas.chat,
          onInvalid: async (error, socket, raw) => {
            raws.push(raw);
            assert.ok(error instanceof ValidationError);
            await socket.send({ error: error.message, target: error.target, issues: error.issues });
          },
        },
        async (socket) => {
          for await (const message of socket) await socket.send({ ok: message.text });
        },
      );
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/chat");
      await ws.sendJson({ text: false });
      const reply = (await ws.receiveJson()) as {
        error: string;
        target: string;
        issues: { path: string; pointer: string }[];
      };
      assert.match(reply.error, /^Invalid message: text: /);
      assert.equal(reply.target, "message");
      assert.equal(reply.issues[0]?.path, "text");
      assert.equal(reply.issues[0]?.pointer, "/text");
      // Not JSON: one issue on the message itself, saying so.
      await ws.send("{oops");
      const notJson = (await ws.receiveJson()) as { error: string; issues: { path: string }[] };
      assert.match(notJson.error, /^Invalid message: Not JSON: /);
      assert.equal(notJson.issues[0]?.path, "");
      await ws.sendJson({ text: "ok" });
      assert.deepEqual(await ws.receiveJson(), { ok: "OK" });
      assert.deepEqual(raws, ['{"text":false}', "{oops"]);
      await ws.close();
    });

    test("an onInvalid function that throws an HttpError closes with 4000 + its status", async () => {
      const app = quietApp();
      app.websocket(
        "/strict",
        {
          message: schemas.chat,
          onInvalid: () => {
            throw new HttpError(422, "Unprocessable chat message");
          },
        },
        async (socket) => {
          for await (const _ of socket);
        },
      );
      app.websocket(
        "/rethrow",
        {
          message: schemas.chat,
          onInvalid: (error) => {
            throw error;
          },
        },
        async (socket) => {
          for await (const _ of socket);
        },
      );
      await using client = await TestClient.start(app);
      const strict = await client.websocketConnect("/strict");
      await strict.sendJson({});
      assert.deepEqual(await within(strict.closed, "the close"), {
        code: 4422,
        reason: "Unprocessable chat message",
      });
      // The ValidationError itself is an HttpError 400.
      const rethrow = await client.websocketConnect("/rethrow");
      await rethrow.sendJson({ text: [] });
      const closed = await within(rethrow.closed, "the close");
      assert.equal(closed.code, 4400);
      assert.match(closed.reason, /^Invalid message: text: /);
    });

    test("a schema that throws closes its socket with 1011, logged once; the route's other sockets go on", async () => {
      const { logger, lines } = capturedLogger();
      const app = new App({ logger });
      let loopsEnded = 0;
      app.websocket("/t", { message: schemas.throwing }, async (socket) => {
        for await (const message of socket) await socket.send(message);
        loopsEnded++;
      });
      await using client = await TestClient.start(app);
      const broken = await client.websocketConnect("/t");
      const healthy = await client.websocketConnect("/t");
      await broken.sendJson({ text: "boom" });
      assert.deepEqual(await within(broken.closed, "the close"), {
        code: 1011,
        reason: "Internal error",
      });
      await healthy.sendJson({ text: "still here" });
      assert.deepEqual(await healthy.receiveJson(), { text: "still here" });
      await waitFor(() => loopsEnded === 1, "the broken socket's loop to end");
      const errors = errorLines(lines);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0]?.err?.message ?? "", /schema threw .*the schema's own bug/);
      await healthy.close();
    });

    test("an async schema: messages in order, a refusal closes with 1008", async () => {
      const app = quietApp();
      app.websocket("/slow", { message: schemas.slow }, async (socket) => {
        for await (const message of socket) await socket.send(message);
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/slow");
      for (const text of ["a", "b", "c"]) await ws.sendJson({ text });
      for (const text of ["a", "b", "c"]) assert.deepEqual(await ws.receiveJson(), { text });
      await ws.sendJson({ text: "no" });
      const closed = await within(ws.closed, "the close");
      assert.equal(closed.code, 1008);
      assert.equal(closed.reason, "invalid message: text: must not be no");
    });

    test("send: a value that fails the send schema is refused with OutputValidationError, nothing sent", async () => {
      const { logger, lines } = capturedLogger();
      const app = new App({ logger, validateOutput: true });
      app.websocket("/out", { message: schemas.word, send: schemas.reply }, async (socket) => {
        for await (const word of socket) {
          const refused = await socket.send({ echo: word, count: "many" } as never).then(
            () => undefined,
            (error: unknown) => error,
          );
          assert.ok(refused instanceof OutputValidationError);
          await assert.rejects(
            socket.sendJson({ echo: 1, count: 1 } as never),
            OutputValidationError,
          );
          await socket.send({ echo: `${refused.target}: ${refused.issues[0]?.path}`, count: 0 });
        }
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/out");
      await ws.sendJson("hello");
      assert.deepEqual(await ws.receiveJson(), { echo: "message: count", count: 0 });
      // Each refusal is logged once, where it happened.
      const logged = errorLines(lines);
      assert.equal(logged.length, 2);
      assert.match(logged[0]?.msg ?? "", /send schema/);
      await ws.close();
    });

    test("send: a refusal the handler lets through closes with 1011, logged once", async () => {
      const { logger, lines } = capturedLogger();
      const app = new App({ logger, validateOutput: true });
      app.websocket("/out", { message: schemas.word, send: schemas.reply }, async (socket) => {
        for await (const word of socket) await socket.send({ echo: word } as never);
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/out");
      await ws.sendJson("hello");
      assert.deepEqual(await within(ws.closed, "the close"), {
        code: 1011,
        reason: "Internal error",
      });
      assert.equal(errorLines(lines).length, 1);
    });

    test("send: with an async send schema, frames leave in the order send() was called", async () => {
      const refusals: unknown[] = [];
      const app = quietApp({ validateOutput: true });
      app.websocket(
        "/ordered",
        { message: schemas.word, send: schemas.slowReply },
        async (socket) => {
          for await (const _ of socket) {
            // Not awaited: the first takes the most turns to check, the second none.
            socket.send({ seq: 1, tags: ["a", "b", "c", "d"] });
            socket.send({ seq: 2, tags: [] });
            // Refused (after its check): nothing sent, and the frames after it are not held up.
            socket.send({ seq: "x", tags: [] } as never).catch((error) => refusals.push(error));
            // A prepared message skips the schema, and still waits its turn.
            socket.send(WebSocketMessage.json({ seq: 3 }) as never);
            socket.send({ seq: 4, tags: ["e"] });
            await socket.send({ seq: 5, tags: [] });
          }
        },
      );
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/ordered");
      await ws.sendJson("go");
      const seqs: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        seqs.push(((await within(ws.receiveJson(), "a reply")) as { seq: number }).seq);
      }
      assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
      assert.equal(refusals.length, 1);
      assert.ok(refusals[0] instanceof OutputValidationError);
      // The next burst keeps its order too.
      await ws.sendJson("again");
      seqs.length = 0;
      for (let i = 0; i < 5; i++) {
        seqs.push(((await within(ws.receiveJson(), "a reply")) as { seq: number }).seq);
      }
      assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
      await ws.close();
    });

    test("receiveJson() on a typed socket is receive(): parsed and validated", async () => {
      const app = quietApp();
      app.websocket("/json", { message: schemas.chat, onInvalid: "skip" }, async (socket) => {
        const first = await socket.receiveJson();
        await socket.send({ echo: first?.text, count: first?.count });
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/json");
      await ws.sendJson({ text: 1 });
      await ws.sendJson({ text: "valid" });
      assert.deepEqual(await ws.receiveJson(), { echo: "VALID", count: 1 });
      assert.equal((await within(ws.closed, "the close")).code, 1000);
    });

    test("a send schema without message: sends are typed and checked, reads stay untyped", async () => {
      const app = quietApp({ validateOutput: true });
      app.websocket("/out", { send: schemas.reply }, async (socket) => {
        for await (const message of socket) {
          if (typeof message !== "string") continue;
          await socket.send({ echo: message, count: message.length });
          await socket.send({ echo: message } as never).catch((error: unknown) => {
            assert.ok(error instanceof OutputValidationError);
            return socket.send({ echo: "refused", count: 0 });
          });
        }
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/out");
      await ws.send("not json");
      assert.deepEqual(await ws.receiveJson(), { echo: "not json", count: 8 });
      assert.deepEqual(await ws.receiveJson(), { echo: "refused", count: 0 });
      await ws.close();
    });

    test("send: validateOutput off sends what the handler gave, unchecked", async () => {
      const app = quietApp({ validateOutput: false });
      app.websocket("/out", { message: schemas.word, send: schemas.reply }, async (socket) => {
        for await (const word of socket) await socket.send({ echo: word } as never);
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/out");
      await ws.sendJson("unchecked");
      assert.deepEqual(await ws.receiveJson(), { echo: "unchecked" });
      await ws.close();
    });

    test("send: a string goes through a send schema as a JSON string, and sendJson() too", async () => {
      const app = quietApp();
      app.websocket("/words", { message: schemas.word, send: schemas.word }, async (socket) => {
        for await (const word of socket) {
          await socket.send(word);
          await socket.sendJson(`${word}!`);
        }
      });
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/words");
      await ws.sendJson("hi");
      assert.equal(await ws.receive(), '"hi"');
      assert.equal(await ws.receive(), '"hi!"');
      await ws.close();
    });

    test("deep nesting under maxPayload is refused by the schema, not a crash; over it, 1009", async () => {
      await using client = await TestClient.start(chatApp(schemas));
      const deep = await client.websocketConnect("/chat");
      const nested = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
      await deep.send(`{"text":${nested}}`);
      assert.equal((await within(deep.closed, "the close")).code, 1008);
      const huge = await client.websocketConnect("/chat");
      await huge.send(`{"text":"${"x".repeat(1024 * 1024)}"}`);
      assert.equal((await within(huge.closed, "the close")).code, 1009);
      const after = await client.websocketConnect("/chat");
      await after.sendJson({ text: "alive" });
      assert.deepEqual(await after.receiveJson(), { echo: "ALIVE", count: 1 });
      await after.close();
    });

    test("JSON too deep for a recursive schema is the client's: 1008, logged at info, not an error", async () => {
      // 300 KB, under the default maxPayload: deep enough to overflow the library's stack.
      const depth = 20_000;
      const deep = `${'{"children":['.repeat(depth)}${"]}".repeat(depth)}`;
      const { logger, lines } = capturedLogger();
      const refused: ValidationError[] = [];
      const app = new App({ logger });
      const echoDepth = async (socket: SchemaWebSocket<Record<string, string>, object, Tree>) => {
        for await (const tree of socket) await socket.send({ children: tree.children.length });
      };
      app.websocket("/close", { message: schemas.tree }, echoDepth);
      app.websocket("/skip", { message: schemas.tree, onInvalid: "skip" }, echoDepth);
      app.websocket(
        "/answer",
        {
          message: schemas.tree,
          onInvalid: (error, socket) => {
            refused.push(error);
            return socket.send({ refused: error.message });
          },
        },
        echoDepth,
      );
      await using client = await TestClient.start(app);
      const closing = await client.websocketConnect("/close");
      await closing.send(deep);
      assert.deepEqual(await within(closing.closed, "the close"), {
        code: 1008,
        reason: "invalid message: Nested too deeply to validate",
      });
      const skipping = await client.websocketConnect("/skip");
      await skipping.send(deep);
      await skipping.sendJson({ children: [] });
      assert.deepEqual(await skipping.receiveJson(), { children: 0 });
      const answering = await client.websocketConnect("/answer");
      await answering.send(deep);
      assert.deepEqual(await answering.receiveJson(), {
        refused: "Invalid message: Nested too deeply to validate",
      });
      assert.equal(refused[0]?.status, 400);
      await answering.sendJson({ children: [{ children: [] }] });
      assert.deepEqual(await answering.receiveJson(), { children: 1 });
      assert.deepEqual(errorLines(lines), []);
      const logged = lines.find((line) => line.msg.includes("refused by its schema"));
      assert.equal(logged?.level, 30);
      await skipping.close();
      await answering.close();
    });
  });
}

describe("typed WebSocket routes: declaration and untyped routes", () => {
  const schemas = libraries.zod as Schemas;

  test("a route without schemas behaves as before: raw strings and bytes, sends as given", async () => {
    const app = quietApp();
    app.websocket("/raw", async (socket) => {
      for await (const message of socket) {
        await socket.send(typeof message === "string" ? `got ${message}` : message);
      }
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/raw");
    await ws.send("not json");
    assert.equal(await ws.receive(), "got not json");
    await ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await ws.receive(), Buffer.from([1, 2, 3]));
    await ws.close();
  });

  test("topic messages reach a socket with a send schema as their envelope, unchanged", async () => {
    const app = quietApp();
    app.websocket("/news", { message: schemas.word, send: schemas.word }, async (socket) => {
      await socket.subscribe("news");
      await socket.send("subscribed");
      await socket.closed;
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/news");
    assert.equal(await ws.receive(), '"subscribed"');
    await app.publish("news", { headline: "typed" });
    const envelope = (await within(ws.receiveJson(), "the envelope")) as {
      topic: string;
      data: unknown;
    };
    assert.equal(envelope.topic, "news");
    assert.deepEqual(envelope.data, { headline: "typed" });
    await ws.close();
  });

  test("groups take typed routes too", async () => {
    const app = quietApp();
    app.group("/rooms/:room", (rooms) => {
      rooms.websocket("/chat", { message: schemas.chat }, async (socket) => {
        for await (const message of socket) {
          await socket.send({ room: socket.request.params.room, text: message.text });
        }
      });
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/rooms/blue/chat");
    await ws.sendJson({ text: "hey" });
    assert.deepEqual(await ws.receiveJson(), { room: "blue", text: "HEY" });
    await ws.sendJson({});
    assert.equal((await within(ws.closed, "the close")).code, 1008);
  });

  test("what is not a schema, or a bad onInvalid, is refused when the route is added", () => {
    const app = quietApp();
    const handler = async () => {};
    assert.throws(
      () => app.websocket("/a", { message: { parse: () => 1 } as never }, handler),
      /WebSocket route \/a: message must be a Standard Schema/,
    );
    assert.throws(
      () => app.websocket("/b", { message: schemas.chat, send: "json" as never }, handler),
      /WebSocket route \/b: send must be a Standard Schema/,
    );
    assert.throws(
      () => app.websocket("/c", { message: schemas.chat, onInvalid: "drop" as never }, handler),
      /WebSocket route \/c: onInvalid must be "close", "skip" or a function/,
    );
    assert.throws(
      () => app.websocket("/d", { onInvalid: "skip" } as never, handler),
      /onInvalid needs a message schema/,
    );
  });
});
