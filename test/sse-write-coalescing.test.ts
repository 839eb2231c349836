// How many times an SSE stream's events reach the socket: the events produced in one turn of
// the event loop leave in one write, at the end of the turn. (Writing a lone event as soon as
// it is produced was tried: in the bench's fan-out, (a) in BENCHMARKS.md, the writes then
// came between the streams' JavaScript instead of back to back, and cost 20 % more CPU.)
// Counted on the server's own TCP socket (its _write and _writev: one system call each), with
// a real client.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { setImmediate as turnEnd } from "node:timers/promises";
import { SseEvent } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { countWrites } from "./support/count-writes.js";
import { waitFor } from "./support/wait.js";

/** A producer released by hand: each release() yields `size` events in one turn. */
function burstSource() {
  let wake: (() => void) | undefined;
  let seq = 0;
  return {
    release(): void {
      wake?.();
      wake = undefined;
    },
    async *events(size: () => number, signal: AbortSignal): AsyncGenerator<SseEvent> {
      signal.addEventListener("abort", () => wake?.());
      for (;;) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        if (signal.aborted) return;
        const count = size();
        for (let i = 0; i < count; i++) yield new SseEvent({ id: seq++, data: "x" });
      }
    },
  };
}

async function openStream(size: () => number) {
  const app = quietApp();
  const source = burstSource();
  let counter: { writes: number } | undefined;
  app.sse("/feed", (request) => {
    counter = countWrites(request.raw.socket as Socket);
    return source.events(size, request.signal);
  });
  const client = await TestClient.start(app);
  const stream = client.events("/feed");
  const firstHead = stream.next(); // opens the request
  await waitFor(() => counter !== undefined, "the stream to open");
  return { client, stream, firstHead, source, counter: counter as { writes: number } };
}

describe("SSE writes are coalesced per turn", () => {
  test("bursts of five events: each leaves in one write", async () => {
    const { client, stream, firstHead, source, counter } = await openStream(() => 5);
    await using _ = client;
    source.release();
    await firstHead;
    for (let i = 1; i < 5; i++) await stream.next();
    const perBurst: number[] = [];
    for (let burst = 1; burst <= 3; burst++) {
      await turnEnd();
      const before = counter.writes;
      source.release();
      for (let i = 0; i < 5; i++) await stream.next();
      perBurst.push(counter.writes - before);
    }
    assert.deepEqual(perBurst, [1, 1, 1], `writes per burst: ${perBurst}`);
    await stream.close();
  });
});
