// A guard on the heap an idle SSE stream costs the server: 2 000 clients on raw sockets (in a
// child process, so their memory is not counted) on routes whose producers wait for ever.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { test } from "node:test";
import type { SseHandler } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { clientProcess, heapAfterGc } from "./support/idle-heap.js";
import { aborted, waitFor } from "./support/wait.js";

/**
 * The stream alone (a producer that never answers, sharing one pending promise), with Node's
 * own socket, parser and response: measured this way on Node 20, 6.16–6.20 KiB per stream,
 * against 7.69–7.84 before the stream pump stopped holding promises, reactions and closures
 * for its whole life (a `.catch()`, the tracking `.then()`, the pump's own promise, a cancel
 * closure). Above the bound, something per stream is held again.
 */
const MAX_KIB_PER_STREAM = 6.6;
/**
 * An async generator that waits on `req.signal`, as an app's own would (its generator, the
 * AbortSignal and its listener come on top): 7.86–8.00 KiB, against 9.59–9.68 before.
 */
const MAX_KIB_PER_GENERATOR_STREAM = 8.4;
const CLIENTS = 2000;

/** `count` raw SSE clients of `url` in a child process; resolves once all sent their request. */
async function openClients(url: URL, count: number): Promise<ChildProcess> {
  const script = `const net = require("node:net"); let sent = 0;
    for (let i = 0; i < ${count}; i++) {
      const socket = net.connect(${url.port}, ${JSON.stringify(url.hostname)}, () => {
        socket.write("GET /idle HTTP/1.1\\r\\nHost: x\\r\\nAccept: text/event-stream\\r\\n\\r\\n");
        if (++sent === ${count}) console.log("ready");
      });
      socket.on("data", () => {});
      socket.on("error", (error) => { console.error(error.message); process.exit(1); });
    }`;
  return clientProcess(script);
}

/** Heap per idle SSE stream, in KiB, on a route answered by `handler`. */
async function idleHeapPerStream(handler: SseHandler): Promise<number> {
  const app = quietApp();
  app.sse("/idle", { keepAlive: 60_000 }, handler);
  const server = await app.listen({ port: 0, host: "127.0.0.1" });
  const url = new URL(server.url);
  const streams = () => app.connections.sse;
  let clients: ChildProcess | undefined;
  try {
    // A first round compiles and sizes what every stream uses.
    const warmUp = await openClients(url, 50);
    await waitFor(() => streams() === 50, "the warm-up streams", 5000);
    warmUp.kill();
    await waitFor(() => streams() === 0, "the warm-up streams to end", 5000);
    const before = await heapAfterGc();
    clients = await openClients(url, CLIENTS);
    await waitFor(() => streams() === CLIENTS, "every stream's head", 10_000);
    return ((await heapAfterGc()) - before) / CLIENTS / 1024;
  } finally {
    clients?.kill();
    await app.close({ timeout: 2000 });
  }
}

/** A producer that never answers: every stream shares its one pending promise. */
const never = new Promise<IteratorResult<string>>(() => {});
const waitsForEver: AsyncIterator<string> = {
  next: () => never,
  return: async () => ({ done: true, value: undefined }),
};
const silentSource = { [Symbol.asyncIterator]: () => waitsForEver };

test(`an idle SSE stream holds under ${MAX_KIB_PER_STREAM} KiB of the server's heap`, async () => {
  const perStream = await idleHeapPerStream(() => silentSource);
  assert.ok(
    perStream < MAX_KIB_PER_STREAM,
    `${perStream.toFixed(2)} KiB of heap per idle SSE stream (at most ${MAX_KIB_PER_STREAM})`,
  );
});

test(`an idle SSE stream of an async handler holds under ${MAX_KIB_PER_STREAM} KiB too`, async () => {
  // The handler's promise is done with once the stream starts: 6.05–6.13 KiB, against
  // 7.03–7.09 while the stream's end was chained to it (a promise, a thenable job, reactions).
  const perStream = await idleHeapPerStream(async () => silentSource);
  assert.ok(
    perStream < MAX_KIB_PER_STREAM,
    `${perStream.toFixed(2)} KiB of heap per idle SSE stream of an async handler (at most ${MAX_KIB_PER_STREAM})`,
  );
});

test(`an idle SSE stream of an async generator waiting on req.signal holds under ${MAX_KIB_PER_GENERATOR_STREAM} KiB`, async () => {
  const perStream = await idleHeapPerStream(async function* (request) {
    await aborted(request.signal);
    yield "never";
  });
  assert.ok(
    perStream < MAX_KIB_PER_GENERATOR_STREAM,
    `${perStream.toFixed(2)} KiB of heap per idle generator SSE stream (at most ${MAX_KIB_PER_GENERATOR_STREAM})`,
  );
});
