// A send nobody awaits, on a route whose `send` schema is async: a refusal must not end the
// process (no unhandled rejection), and a last frame sent just before the handler returns
// must still reach the peer before the socket is closed with 1000.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as v from "valibot";
import { z } from "zod";
import type { StandardSchemaV1 } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { within } from "./support/wait.js";

const asyncSends: [string, StandardSchemaV1][] = [
  [
    "zod",
    z.object({ n: z.number() }).refine(async (value) => {
      await sleep(5);
      return value.n >= 0;
    }),
  ],
  [
    "valibot",
    v.pipeAsync(
      v.object({ n: v.number() }),
      v.checkAsync(async (value) => {
        await sleep(5);
        return value.n >= 0;
      }),
    ),
  ],
];

/** Unhandled rejections while `run` runs (and a little after), instead of a dead process. */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", record);
  try {
    await run();
    await sleep(50);
  } finally {
    process.off("unhandledRejection", record);
  }
  return seen;
}

for (const [library, schema] of asyncSends) {
  describe(`a send nobody awaits, async ${library} send schema`, () => {
    test("a refused send is no unhandled rejection, and the socket goes on", async () => {
      const app = quietApp({ validateOutput: true });
      app.websocket("/out", { message: z.string(), send: schema }, async (socket) => {
        for await (const _ of socket) {
          socket.send({ n: -1 }); // refused by the async check, never awaited or caught
          await socket.send({ n: 1 });
        }
      });
      await using client = await TestClient.start(app);
      const seen = await unhandledDuring(async () => {
        const ws = await client.websocketConnect("/out");
        await ws.sendJson("go");
        assert.deepEqual(await within(ws.receiveJson(), "the valid frame", 5000), { n: 1 });
        await ws.sendJson("again");
        assert.deepEqual(await within(ws.receiveJson(), "the next valid frame", 5000), { n: 1 });
        await ws.close();
      });
      assert.deepEqual(seen, []);
    });

    test("a last frame sent before the handler returns reaches the peer, then the close 1000", async () => {
      const app = quietApp({ validateOutput: true });
      app.websocket("/bye", { send: schema }, (socket) => {
        socket.send({ n: 7 }); // not awaited: the handler returns while its check is pending
      });
      await using client = await TestClient.start(app);
      const seen = await unhandledDuring(async () => {
        const ws = await client.websocketConnect("/bye");
        assert.deepEqual(await within(ws.receiveJson(), "the last frame", 5000), { n: 7 });
        assert.equal((await within(ws.closed, "the close", 5000)).code, 1000);
      });
      assert.deepEqual(seen, []);
    });
  });
}
