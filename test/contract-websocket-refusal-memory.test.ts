// A peer that sends only messages its route's schema refuses, to a route whose onInvalid
// skips them ("skip" or a function): each refused message must be dropped for good, not
// kept until a valid one arrives. 50,000 refused messages, heap measured after a GC.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as v from "valibot";
import { WebSocket } from "ws";
import { z } from "zod";
import type { StandardSchemaV1 } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { sleep, waitFor } from "./support/wait.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const REFUSED = 50_000;
const BURST = 10_000;
/**
 * Measured on Node 20: under 0.3 MB; 30 MB ("skip") and 58 MB (a function) for 50,000
 * messages when each refusal chained one more pending read onto the last.
 */
const MAX_GROWTH_MB = 3;

/** The schema, counting the messages it validated: the test knows when all were read. */
function counted<S extends StandardSchemaV1>(schema: S): { schema: S; validated: () => number } {
  let validated = 0;
  const standard = schema["~standard"];
  const wrapper = {
    "~standard": {
      ...standard,
      validate(value: unknown) {
        validated++;
        return standard.validate(value);
      },
    },
  } as S;
  return { schema: wrapper, validated: () => validated };
}

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

const chats: Record<string, StandardSchemaV1> = {
  zod: z.object({ text: z.string() }),
  valibot: v.object({ text: v.string() }),
};

for (const [library, chat] of Object.entries(chats)) {
  describe(`refused messages skipped on a ${library} route hold no memory`, () => {
    for (const mode of ["skip", "a function"] as const) {
      test(`onInvalid ${mode}: ${REFUSED} refused messages grow the heap by under ${MAX_GROWTH_MB} MB`, async () => {
        const { schema, validated } = counted(chat);
        let answered = 0;
        const app = quietApp();
        app.websocket(
          "/chat",
          {
            message: schema,
            onInvalid:
              mode === "skip"
                ? "skip"
                : () => {
                    answered++;
                  },
          },
          async (socket) => {
            for await (const _ of socket);
          },
        );
        const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
        const ws = new WebSocket(`${url.replace("http", "ws")}/chat`, {
          perMessageDeflate: false,
        });
        try {
          await new Promise((resolve, reject) => {
            ws.once("open", resolve);
            ws.once("error", reject);
          });
          // A first burst warms up what every message uses (code, the inbox's queue).
          for (let i = 0; i < BURST; i++) ws.send("{}");
          await waitFor(() => validated() === BURST, "the warm-up burst", 10_000);
          const before = await heapAfterGc();
          for (let sent = 0; sent < REFUSED; sent += BURST) {
            for (let i = 0; i < BURST; i++) ws.send("{}");
            await waitFor(() => validated() === BURST + sent + BURST, "the burst", 10_000);
          }
          const grownMb = ((await heapAfterGc()) - before) / 1e6;
          assert.ok(
            grownMb < MAX_GROWTH_MB,
            `the heap grew by ${grownMb.toFixed(2)} MB for ${REFUSED} refused messages`,
          );
          if (mode !== "skip") assert.equal(answered, BURST + REFUSED);
          assert.equal(ws.readyState, WebSocket.OPEN, "the socket stays open");
        } finally {
          ws.terminate();
          await app.close({ timeout: 2000 });
        }
      });
    }
  });
}
