// Data nested too deeply for a recursive schema (z.lazy, v.lazy overflow the stack inside the
// library, well under any size limit) is the sender's mistake wherever it arrives: a publish
// to a declared topic, a real-time publish or call: refused as invalid, never an `internal`
// error logged as the server's bug.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import { App, defineContract, type StandardSchemaV1, ValidationError } from "../src/index.js";
import { capturedLogger } from "./support/logging.js";
import { RealtimePeer } from "./support/realtime-peer.js";

interface Tree {
  children: Tree[];
}
const zodTree: z.ZodType<Tree> = z.lazy(() => z.object({ children: z.array(zodTree) }));
const valibotTree: v.GenericSchema<Tree> = v.lazy(() =>
  v.object({ children: v.array(valibotTree) }),
);

/** The JSON text of deepTree(depth), written without JSON.stringify (which would recurse). */
function deepTreeJson(depth: number): string {
  return `${'{"children":['.repeat(depth)}{"children":[]}${"]}".repeat(depth)}`;
}

/** `{ children: [{ children: [...] }] }`, `depth` levels, built without recursion. */
function deepTree(depth: number): Tree {
  let tree: Tree = { children: [] };
  for (let level = 0; level < depth; level++) tree = { children: [tree] };
  return tree;
}

const apps: App[] = [];
after(() => Promise.all(apps.map((app) => app.close())));

for (const [library, tree] of [
  ["zod", zodTree],
  ["valibot", valibotTree],
] as [string, StandardSchemaV1][]) {
  describe(`input too deep for a recursive ${library} schema`, () => {
    test("app.publish to a declared topic rejects with a ValidationError; nothing is stored", async () => {
      const app = new App({ logger: false }).topic("trees", { schema: tree });
      apps.push(app);
      await assert.rejects(
        app.publish("trees", deepTree(20_000)),
        (error: unknown) =>
          error instanceof ValidationError && /Nested too deeply to validate/.test(error.message),
      );
      assert.deepEqual(await app.history("trees"), []);
      await app.publish("trees", deepTree(3));
      assert.equal((await app.history("trees")).length, 1);
    });

    test("a real-time publish and call get `invalid`, logged below error; the connection stays", async () => {
      const { logger, lines } = capturedLogger("debug");
      const contract = defineContract({
        topics: { trees: tree },
        methods: { count: { params: tree } },
      });
      const app = new App({ logger });
      apps.push(app);
      app.realtime("/rt", { contract, publish: ["trees"], methods: { count: () => 1 } });
      const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
      const peer = await RealtimePeer.connect(`${url.replace("http", "ws")}/rt`);
      try {
        const data = deepTreeJson(20_000);
        for (const [ref, frame] of [
          [101, `{"type":"publish","ref":101,"topic":"trees","data":${data}}`],
          [102, `{"type":"call","ref":102,"method":"count","params":${data}}`],
        ] as const) {
          peer.send(frame);
          const reply = await peer.reply(ref);
          const error = reply.error as { code: string; message: string };
          assert.equal(reply.ok, false);
          assert.equal(error.code, "invalid", JSON.stringify(error));
          assert.match(error.message, /Nested too deeply to validate/);
        }
        assert.equal(
          (await peer.request({ type: "call", method: "count", params: deepTree(2) })).ok,
          true,
        );
        assert.deepEqual(
          lines.filter((line) => line.level >= 50).map((line) => line.msg),
          [],
          "nothing logged at error level",
        );
      } finally {
        await peer.close();
      }
    });
  });
}
