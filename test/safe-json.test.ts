import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseJsonBody } from "../src/http/body.js";
import { HttpError } from "../src/http/http-error.js";
import { ForbiddenJsonKeyError, type ProtoKeys, parseJson } from "../src/http/safe-json.js";
import { CloseCode } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { within } from "./support/wait.js";

const POISONED: [string, ForbiddenJsonKeyError["key"]][] = [
  ['{"__proto__":{"isAdmin":true}}', "__proto__"],
  ['{"a":1,"__proto__":null}', "__proto__"],
  ['[1,{"b":[{"__proto__":{"isAdmin":true}}]}]', "__proto__"],
  ['{"\\u005f\\u005fproto\\u005f\\u005f":{"isAdmin":true}}', "__proto__"],
  ['{"__pr\\u006fto__":{}}', "__proto__"],
  ['{"constructor":{"prototype":{"isAdmin":true}}}', "constructor.prototype"],
  ['{"x":{"constructor":{"prototype":null}}}', "constructor.prototype"],
  ['{"constructor":{"prot\\u006ftype":{}}}', "constructor.prototype"],
];

/** JSON that only looks like the poisoned kind: keys or values that are not those keys. */
const LOOK_ALIKES = [
  '{"note":"__proto__"}',
  '["__proto__","constructor","prototype"]',
  '{"proto":{"__proto":1,"proto__":2}}',
  '{"constructor":"Object","prototype":{}}',
  '{"constructor":{"name":"x"},"prototype":{}}',
  '{"constructor":null}',
  '{"caf\\u00e9":"\\u00e9t\\u00e9"}',
];

describe("parseJson", () => {
  test('protoKeys "error" (the default) refuses __proto__ and constructor.prototype keys at any depth, escaped or not', () => {
    for (const [text, key] of POISONED) {
      for (const parse of [() => parseJson(text), () => parseJson(text, "error")]) {
        assert.throws(
          parse,
          (error: Error) =>
            error instanceof ForbiddenJsonKeyError &&
            error instanceof SyntaxError &&
            error.key === key &&
            error.message === `JSON with a "${key}" key is not accepted`,
          text,
        );
      }
    }
  });

  test('protoKeys "remove" deletes those keys, and what is left cannot poison a merge', () => {
    const removed = parseJson(
      '{"a":1,"__proto__":{"isAdmin":true},"b":[{"__proto__":2}]}',
      "remove",
    );
    assert.deepEqual(removed, { a: 1, b: [{}] });
    assert.equal(Object.hasOwn(removed as object, "__proto__"), false);
    assert.equal(Object.getPrototypeOf(removed), Object.prototype);
    const merged = Object.assign({}, removed) as { isAdmin?: boolean };
    assert.equal(merged.isAdmin, undefined);

    const noConstructor = parseJson(
      '{"constructor":{"prototype":{"isAdmin":true}},"c":3}',
      "remove",
    );
    assert.deepEqual(noConstructor, { c: 3 });
    for (const [text] of POISONED) {
      const value = parseJson(text, "remove");
      assert.equal(JSON.stringify(value).includes("proto"), false, text);
    }
  });

  test('protoKeys "keep" is JSON.parse as it is: the merge then inherits isAdmin (the attack)', () => {
    const kept = parseJson('{"__proto__":{"isAdmin":true}}', "keep");
    assert.equal(Object.hasOwn(kept as object, "__proto__"), true);
    const merged = Object.assign({}, kept) as { isAdmin?: boolean };
    assert.equal(merged.isAdmin, true, "Object.assign copies __proto__ through the setter");
    assert.equal(Object.hasOwn(merged, "isAdmin"), false);
  });

  test("look-alike keys and values pass under every setting", () => {
    for (const text of LOOK_ALIKES) {
      for (const protoKeys of ["error", "remove", "keep"] as ProtoKeys[]) {
        assert.deepEqual(parseJson(text, protoKeys), JSON.parse(text), `${protoKeys}: ${text}`);
      }
    }
  });

  test("malformed JSON is a plain SyntaxError, not a refused key", () => {
    assert.throws(
      () => parseJson('{"__proto__":'),
      (error: Error) => error instanceof SyntaxError && !(error instanceof ForbiddenJsonKeyError),
    );
  });

  test("a deeply nested document is walked without overflowing the stack", () => {
    const depth = 100_000;
    const deep = `${"[".repeat(depth)}"__proto__"${"]".repeat(depth)}`;
    let value = parseJson(deep);
    for (let level = 0; level < depth; level++) value = (value as unknown[])[0];
    assert.equal(value, "__proto__");
    const deepKey = `${'{"a":'.repeat(depth)}{"__proto__":1}${"}".repeat(depth)}`;
    assert.throws(() => parseJson(deepKey), ForbiddenJsonKeyError);
  });
});

describe("parseJsonBody (what req.json() calls)", () => {
  test("a refused key is a 400 HttpError that says why; protoKeys is passed through", () => {
    const body = Buffer.from('{"__proto__":{"isAdmin":true}}');
    assert.throws(
      () => parseJsonBody(body),
      (error: Error) =>
        error instanceof HttpError &&
        error.status === 400 &&
        error.message === 'JSON body refused: JSON with a "__proto__" key is not accepted',
    );
    assert.deepEqual(parseJsonBody(body, { protoKeys: "remove" }), {});
    assert.equal(
      (Object.assign({}, parseJsonBody(body, { protoKeys: "keep" })) as { isAdmin?: boolean })
        .isAdmin,
      true,
    );
    assert.deepEqual(parseJsonBody('{"a":1}', {}), { a: 1 });
  });

  test("an unknown protoKeys value is a TypeError (a programming error, not the client's)", () => {
    for (const options of [{ protoKeys: "strip" }, { protoKeys: true }, null, "keep"]) {
      assert.throws(
        () => parseJsonBody('{"a":1}', options as never),
        TypeError,
        JSON.stringify(options),
      );
    }
  });
});

describe("socket.receiveJson()", () => {
  /** Answers each JSON message with its keys; a SyntaxError closes with 1007, as the guide does. */
  function keysApp(protoKeys?: ProtoKeys) {
    const app = quietApp();
    app.websocket("/ws", async (socket) => {
      for (;;) {
        let message: unknown;
        try {
          message = await socket.receiveJson(protoKeys ? { protoKeys } : undefined);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          socket.close(CloseCode.invalidPayload, error.message.slice(0, 100));
          return;
        }
        if (message === undefined) return;
        const merged = Object.assign({}, message) as { isAdmin?: boolean };
        await socket.sendJson({ keys: Object.keys(message as object), isAdmin: !!merged.isAdmin });
      }
    });
    return app;
  }

  test("a text frame with __proto__ is refused with a SyntaxError by default, as malformed JSON is (here: close 1007)", async () => {
    await using client = await TestClient.start(keysApp());
    for (const [text, key] of POISONED) {
      const socket = await client.websocketConnect("/ws");
      await socket.send('{"ok":true}');
      assert.deepEqual(await within(socket.receiveJson(), "the answer"), {
        keys: ["ok"],
        isAdmin: false,
      });
      await socket.send(text);
      assert.deepEqual(await within(socket.closed, "the close"), {
        code: 1007,
        reason: `WebSocket message was refused: JSON with a "${key}" key is not accepted`,
      });
    }
    const malformed = await client.websocketConnect("/ws");
    await malformed.send("{not json");
    const closed = await within(malformed.closed, "the close");
    assert.equal(closed.code, 1007);
    assert.match(closed.reason, /^WebSocket message is not valid JSON: /);
  });

  test('with protoKeys "remove" the message arrives without those keys', async () => {
    await using client = await TestClient.start(keysApp("remove"));
    const socket = await client.websocketConnect("/ws");
    await socket.send('{"a":1,"__proto__":{"isAdmin":true}}');
    assert.deepEqual(await within(socket.receiveJson(), "the answer"), {
      keys: ["a"],
      isAdmin: false,
    });
    await socket.close();
  });
});
