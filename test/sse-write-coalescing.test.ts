// How many times an SSE stream's events reach the socket: a lone event is written as soon as
// it is produced (not at the end of the event loop's turn), the events of one turn leave in
// one write, and a stream fed in bursts keeps one write per burst. Counted on the server's
// own TCP socket (its _write and _writev: one system call each), with a real client.
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
  test("a lone event is written when produced, before the turn ends", async () => {
    const { client, stream, firstHead, source, counter } = await openStream(() => 1);
    await using _ = client;
    source.release();
    await firstHead;
    for (let i = 0; i < 3; i++) {
      // The client runs in this process: let the event loop's turn in which it received
      // the last event end, so the next one is produced in a turn of its own.
      await turnEnd();
      const before = counter.writes;
      let atTurnEnd = -1;
      // Queued before the event is produced: it runs once this turn's microtasks are done,
      // ahead of an end-of-turn flush queued by the write.
      setImmediate(() => {
        atTurnEnd = counter.writes - before;
      });
      source.release();
      const event = await stream.next();
      assert.equal(event.value?.id, String(i + 1));
      await waitFor(() => atTurnEnd >= 0, "the turn to end");
      assert.equal(atTurnEnd, 1, `event ${i + 1}: written before the turn ended`);
    }
    await stream.close();
  });

  test("bursts of five: each burst after the first leaves in one write", async () => {
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
    assert.ok(perBurst[0] <= 2, `first burst after the opening one: ${perBurst[0]} writes`);
    assert.deepEqual(perBurst.slice(1), [1, 1], `writes per burst: ${perBurst}`);
    await stream.close();
  });
});
