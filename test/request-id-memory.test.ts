// Every response carries its request id in x-request-id, which node validates and writes: the
// built-in id must be one flat string, not a rope (a V8 cons string, made by concatenating
// 13 characters or more), which costs a flattening copy on each use and twice the heap.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { NodeRequest } from "../src/http/node-http.js";
import { requestIdSource } from "../src/http/request-id.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

test("built-in request ids are unique, safe and flat (about 30 bytes of heap each, a rope 95)", () => {
  const next = requestIdSource(false);
  const request = { headers: {} } as NodeRequest;
  // Past 36^3 requests the counter takes four base-36 digits: 8 + 1 + 4 = 13 characters.
  for (let i = 0; i < 50_000; i++) next(request);
  const count = 20_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  const ids: string[] = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = next(request);
  gc();
  const perId = (process.memoryUsage().heapUsed - before) / count;
  assert.equal(new Set(ids).size, count, "every id differs");
  for (const id of ids.slice(0, 100)) assert.match(id, /^[0-9a-f]{8}-[0-9a-z]{4}$/);
  // Measured on Node 20: 31 B per id with its array slot; 95 B when each id was a rope.
  assert.ok(perId < 60, `${perId.toFixed(0)} bytes of heap per id`);
});
