// Every open WebSocket (and real-time SSE connection) keeps its id for its whole life: the id
// must be one flat string, not the rope of 14 pieces Node's randomUUID() returns (about 490
// bytes of heap instead of about 60).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { connectionId } from "../src/util/connection-id.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("connection ids are random v4 UUIDs, each held in about 60 bytes of heap", () => {
  const count = 20_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  const ids: string[] = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = connectionId();
  gc();
  const perId = (process.memoryUsage().heapUsed - before) / count;
  assert.equal(new Set(ids).size, count, "every id differs");
  for (const id of ids.slice(0, 100)) assert.match(id, UUID_V4);
  // 36 one-byte characters and a string header, plus the array slot: ~70 B; a rope is ~490.
  assert.ok(perId < 120, `${perId.toFixed(0)} bytes of heap per id`);
});
