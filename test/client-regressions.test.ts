// sluice/client's connect(): regressions found in review (each names its finding), against the
// scripted peer of test/support/realtime-script-server.ts on a real WebSocketServer.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { reconnectOptions } from "../src/client/backoff.js";
import { type CloseInfo, connect, RealtimeError } from "../src/client/index.js";
import type { RealtimeScriptServer } from "./support/realtime-script-server.js";
import { client, server } from "./support/script-peers.js";
import { sleep, waitFor, within } from "./support/wait.js";

function dataOf(peer: RealtimeScriptServer, type: "publish" | "call"): unknown[] {
  return peer.framesOf(type).map((frame) => {
    const { data, params } = frame as { data?: unknown; params?: unknown };
    return data ?? params;
  });
}

describe("connect(): data that JSON cannot encode (finding 2)", () => {
  test("a publish of a BigInt made while connecting rejects with a TypeError; the rest go on", async () => {
    const peer = await server();
    const rt = client(peer.url);
    assert.equal(rt.state, "connecting");
    const bad = rt.publish("t", { n: 1n });
    const good = rt.publish("t", "fine");
    await assert.rejects(bad, (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /publish\(\): data cannot be encoded as JSON.*BigInt/);
      return true;
    });
    assert.equal(await within(good, "the next publish"), "t-1");
    assert.equal(rt.state, "open");
    assert.deepEqual(dataOf(peer, "publish"), ["fine"]);
  });

  test("a call with cyclic params rejects at once; the connection and later calls are fine", async () => {
    const peer = await server();
    const rt = client(peer.url);
    await waitFor(() => rt.state === "open", "open");
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await assert.rejects(rt.call("echo", cycle), /call\(\): params cannot be encoded as JSON/);
    assert.equal(await rt.call("echo", 2), 2);
    assert.equal(peer.framesOf("call").length, 1);
  });
});

describe("connect(): a resent publish past the dedupe window (finding 3)", () => {
  test("is rejected with unavailable, saying it may have been stored, instead of sent again", async () => {
    const peer = await server();
    let connects = 0;
    // The reconnect comes after the window: a long outage.
    const token = async () => {
      if (++connects > 1) await sleep(250);
      return null;
    };
    const rt = client(peer.url, { token, dedupeWindow: 100 });
    await waitFor(() => rt.state === "open", "open");
    peer.loseNextPublishReply = true;
    const error = await within(
      rt.publish("t", "once").then(
        () => assert.fail("expected a rejection"),
        (rejected: unknown) => rejected,
      ),
      "the publish",
    );
    assert.ok(error instanceof RealtimeError);
    assert.equal(error.code, "unavailable");
    assert.match(error.message, /dedupe window \(100 ms\).*may have been stored/);
    assert.equal(rt.state, "open");
    assert.equal(peer.framesOf("publish").length, 1, "not sent again");
  });

  test("within the window it is sent again with its mid", async () => {
    const peer = await server();
    const rt = client(peer.url, { dedupeWindow: 5000 });
    await waitFor(() => rt.state === "open", "open");
    peer.loseNextPublishReply = true;
    assert.equal(await within(rt.publish("t", "once"), "the publish"), "t-1");
    assert.equal(peer.framesOf("publish").length, 2);
  });

  test("dedupeWindow must be a number of ms ≥ 0", () => {
    assert.throws(
      () => connect("ws://127.0.0.1:9/rt", { WebSocket, dedupeWindow: -1 }),
      /dedupeWindow must be a number of ms ≥ 0/,
    );
  });
});

describe("connect(): what waited goes out before the state is open (finding 4)", () => {
  test("a state listener's publish comes after the queued ones, its subscribe is sent once", async () => {
    const peer = await server();
    const rt = client(peer.url);
    rt.on("state", (state) => {
      if (state !== "open") return;
      void rt.publish("t", "from-listener");
      rt.subscribe("late", { replay: 5 });
    });
    const queued = [rt.publish("t", "queued-1"), rt.publish("t", "queued-2")];
    await within(Promise.all(queued), "the queued publishes");
    await waitFor(() => peer.framesOf("publish").length === 3, "the listener's publish");
    await sleep(50);
    assert.deepEqual(dataOf(peer, "publish"), ["queued-1", "queued-2", "from-listener"]);
    assert.equal(peer.framesOf("subscribe").length, 1);
  });
});

describe("connect(): timers past 2^31 ms (finding 6)", () => {
  test("a call with timeout Infinity or 2^31 waits for its reply instead of timing out at once", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const calls = [
      rt.call("hold", "a", { timeout: Number.POSITIVE_INFINITY }),
      rt.call("hold", "b", { timeout: 2 ** 31 }),
    ];
    const settled: string[] = [];
    for (const call of calls)
      call.then(
        () => settled.push("resolved"),
        () => settled.push("rejected"),
      );
    await waitFor(() => peer.framesOf("call").length === 2, "the calls");
    await sleep(50);
    assert.deepEqual(settled, []);
    peer.releaseHeld();
    assert.deepEqual(await within(Promise.all(calls), "the replies"), ["a", "b"]);
  });

  test("reconnect delays are clamped to the longest timer", () => {
    assert.equal(
      reconnectOptions({ maxDelay: 2 ** 31, stableAfter: 2 ** 40 }).maxDelay,
      2 ** 31 - 1,
    );
    assert.equal(reconnectOptions({ stableAfter: 2 ** 40 }).stableAfter, 2 ** 31 - 1);
  });
});

describe("connect(): final closes (findings 7 and 8)", () => {
  for (const [code, errorCode] of [
    [1008, "forbidden"],
    [1009, "invalid"],
    [4404, "not_found"],
    [4422, "invalid"],
    [4409, "forbidden"],
  ] as const) {
    test(`close code ${code} ends the iterators with a ${errorCode} RealtimeError`, async () => {
      const peer = await server();
      const rt = client(peer.url);
      const sub = rt.subscribe("s");
      await sub.ready;
      const next = sub[Symbol.asyncIterator]().next();
      peer.drop(code, "no");
      await assert.rejects(within(next, "the iterator's end"), (error: unknown) => {
        assert.ok(error instanceof RealtimeError);
        assert.equal(error.code, errorCode);
        assert.match(error.message, new RegExp(`closed with ${code}: no`));
        return true;
      });
      assert.equal(rt.state, "closed");
    });
  }

  for (const code of [4408, 4429]) {
    test(`close code ${code} is retried with backoff`, async () => {
      const peer = await server();
      peer.refuse = { code, reason: "later" };
      const rt = client(peer.url);
      const closes: CloseInfo[] = [];
      rt.on("close", (info) => closes.push(info));
      await waitFor(() => peer.connections >= 3, "three attempts");
      assert.ok(closes.every((info) => info.code === code && info.reconnecting));
      peer.refuse = undefined;
      await waitFor(() => rt.state === "open", "the connection once it is let in");
    });
  }
});

describe("connect(): at most 64 requests await replies (finding 9)", () => {
  test("the 65th call waits on the client until a reply frees a place; all resolve in order", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const calls = Array.from({ length: 70 }, (_, i) => rt.call("hold", i));
    await waitFor(() => peer.framesOf("call").length === 64, "64 calls");
    await sleep(50);
    assert.equal(peer.framesOf("call").length, 64);
    peer.releaseHeld();
    await waitFor(() => peer.framesOf("call").length === 70, "the other six");
    peer.releaseHeld();
    assert.deepEqual(
      await within(Promise.all(calls), "every reply"),
      Array.from({ length: 70 }, (_, i) => i),
    );
    assert.deepEqual(
      dataOf(peer, "call"),
      Array.from({ length: 70 }, (_, i) => i),
    );
  });
});

describe("connect(): the default call timeout (finding 10)", () => {
  test("a call answered after 10 s still resolves (the default is 35 s, past the server's 30 s)", {
    timeout: 20_000,
  }, async () => {
    const peer = await server();
    const rt = client(peer.url);
    let settled = false;
    const call = rt.call("hold", "slow").finally(() => {
      settled = true;
    });
    await sleep(10_300);
    assert.equal(settled, false);
    peer.releaseHeld();
    assert.equal(await within(call, "the reply"), "slow");
  });
});

describe("connect(): requests not written when the socket closes (finding 11)", () => {
  test("a call still waiting in the pacer is sent after the reconnect, once", async () => {
    const peer = await server();
    // A burst of 1 and 5.5 s per frame on the client's side: the second call waits.
    peer.messageRate = { messages: 2, perMs: 10_000 };
    const rt = client(peer.url);
    assert.equal(await rt.call("echo", "first"), "first");
    const waiting = rt.call("echo", "second");
    await sleep(30);
    assert.equal(peer.framesOf("call").length, 1, "the second waits in the pacer");
    peer.drop(1012);
    assert.equal(await within(waiting, "the second call"), "second");
    assert.deepEqual(dataOf(peer, "call"), ["first", "second"]);
  });
});

describe("connect(): a subscription's iterator and retries (findings 12 and 13)", () => {
  test("overlapping next() calls each get a message, in order", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const sub = rt.subscribe("o");
    await sub.ready;
    const iterator = sub[Symbol.asyncIterator]();
    const first = iterator.next();
    const second = iterator.next();
    peer.publish("o", 1);
    peer.publish("o", 2);
    const results = await within(Promise.all([first, second]), "both messages");
    assert.deepEqual(
      results.map((result) => result.value?.data),
      [1, 2],
    );
  });

  test("unsubscribe() clears a pending subscribe retry: no timer is left", async () => {
    const peer = await server();
    const rt = client(peer.url, { reconnect: { initialDelay: 60_000, maxDelay: 120_000 } });
    await waitFor(() => rt.state === "open", "open");
    const timers = () =>
      process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const sub = rt.subscribe("flaky:u");
    const failed = new Promise<RealtimeError>((resolve) => sub.on("error", resolve));
    const before = timers();
    await within(failed, "the unavailable reply");
    assert.equal(timers(), before + 1, "the retry's timer");
    await sub.unsubscribe();
    assert.equal(timers(), before);
  });
});
