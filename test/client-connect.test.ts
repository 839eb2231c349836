// sluice/client's connect() in Node with ws's WebSocket class, against the scripted peer of
// test/support/realtime-script-server.ts (docs/protocol.md on a real WebSocketServer).
import assert from "node:assert/strict";
import { type AddressInfo, createServer, connect as netConnect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { fullJitterDelay } from "../src/client/backoff.js";
import {
  type CloseInfo,
  type ConnectionState,
  connect,
  type Realtime,
  RealtimeError,
  type RealtimeMessage,
} from "../src/client/index.js";
import { client, server } from "./support/script-peers.js";
import { sleep, waitFor, within } from "./support/wait.js";

function states(rt: Realtime): ConnectionState[] {
  const seen: ConnectionState[] = [rt.state];
  rt.on("state", (state) => seen.push(state));
  return seen;
}

function rejection(promise: Promise<unknown>): Promise<RealtimeError> {
  return promise.then(
    () => assert.fail("expected a rejection"),
    (error: unknown) => {
      assert.ok(error instanceof RealtimeError, `a RealtimeError, got ${error}`);
      return error;
    },
  );
}

describe("connect(): connecting and reconnecting", () => {
  test("the token function is called at every connect and offered after the bearer marker", async () => {
    const peer = await server();
    let calls = 0;
    const rt = client(peer.url, { token: async () => `t${++calls}` });
    const seen = states(rt);
    await waitFor(() => rt.state === "open", "the first connection");
    peer.drop(1012, "restart");
    await waitFor(() => peer.connections === 2 && rt.state === "open", "the reconnection");
    assert.deepEqual(peer.offered, [
      ["sluice.v1", "bearer", "t1"],
      ["sluice.v1", "bearer", "t2"],
    ]);
    assert.deepEqual(seen, ["connecting", "open", "reconnecting", "open"]);
    assert.equal(rt.clientId, "c2");
  });

  test("without a token only sluice.v1 is offered", async () => {
    const peer = await server();
    const rt = client(peer.url);
    await waitFor(() => rt.state === "open", "the connection");
    assert.deepEqual(peer.offered, [["sluice.v1"]]);
  });

  test("full jitter: every delay lies in [0, min(maxDelay, initialDelay·2^attempt))", () => {
    for (const attempt of [0, 1, 2, 5, 40]) {
      const bound = Math.min(30_000, 500 * 2 ** attempt);
      const delays = Array.from({ length: 500 }, () => fullJitterDelay(attempt, 500, 30_000));
      assert.ok(
        delays.every((delay) => delay >= 0 && delay < bound),
        `attempt ${attempt}`,
      );
      // Spread over the range, not stuck at one end.
      assert.ok(Math.max(...delays) > bound * 0.8 && Math.min(...delays) < bound * 0.2);
    }
  });

  test("a server that keeps closing with 1013 is retried with delays bounded by maxDelay", async () => {
    const peer = await server();
    peer.refuse = { code: 1013, reason: "try again later" };
    const rt = client(peer.url, { reconnect: { initialDelay: 10, maxDelay: 40 } });
    const closes: CloseInfo[] = [];
    rt.on("close", (info) => closes.push(info));
    // Twelve attempts, each delay under maxDelay (40 ms), come well within 1.5 s.
    const took = await waitFor(() => peer.connections >= 12, "a dozen attempts", 1500);
    assert.ok(took < 12 * 40 + 500, `${took} ms`);
    assert.notEqual(rt.state, "closed");
    assert.ok(closes.every((close) => close.code === 1013 && close.reconnecting));
  });

  for (const [code, reason, errorCode] of [
    [4401, "Unauthenticated", "forbidden"],
    [4403, "Forbidden", "forbidden"],
    [1008, "Origin refused", "forbidden"],
    [1009, "Too big", "invalid"],
    [4404, "No such endpoint", "not_found"],
    [4400, "Bad request", "invalid"],
    [4413, "Too large", "invalid"],
    [4422, "Unprocessable", "invalid"],
    [4418, "Teapot", "forbidden"],
  ] as const) {
    test(`close code ${code} is final: state "closed", a close event saying why, no retry`, async () => {
      const peer = await server();
      peer.refuse = { code, reason };
      const rt = client(peer.url);
      const closed = new Promise<CloseInfo>((resolve) => rt.on("close", resolve));
      const pending = rt.publish("a", 1);
      assert.deepEqual(await within(closed, "the close event"), {
        code,
        reason,
        reconnecting: false,
      });
      assert.equal(rt.state, "closed");
      const error = await rejection(pending);
      assert.equal(error.code, errorCode);
      assert.match(error.message, new RegExp(`${code}: ${reason}`));
      await sleep(150);
      assert.equal(peer.connections, 1, "no second attempt");
    });
  }

  test("reconnect: false ends at the first close", async () => {
    const peer = await server();
    const rt = client(peer.url, { reconnect: false });
    await waitFor(() => rt.state === "open", "the connection");
    peer.drop(1012);
    await waitFor(() => rt.state === "closed", "closed");
    await sleep(100);
    assert.equal(peer.connections, 1);
  });

  test("an attempt that gets no welcome within connectTimeout is abandoned and retried", async () => {
    const peer = await server();
    // In front of the peer: the first connection is accepted and never answered (a proxy or
    // a dying server process that took it); the next ones are piped through.
    const held: Socket[] = [];
    const front = createServer((socket) => {
      if (held.length === 0) {
        held.push(socket);
        socket.resume(); // read (and drop) the handshake, so the client's FIN is seen
        return;
      }
      const back = netConnect(peer.port, "127.0.0.1");
      socket.pipe(back).pipe(socket);
      socket.on("error", () => back.destroy());
      back.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = front.address() as AddressInfo;
      const started = Date.now();
      const rt = client(`ws://127.0.0.1:${port}/rt`, { connectTimeout: 300 });
      await waitFor(() => held.length === 1, "the first attempt to be held");
      const abandoned = new Promise<void>((resolve) => held[0].once("close", () => resolve()));
      await within(abandoned, "the held attempt to be abandoned", 3000);
      await waitFor(() => rt.state === "open", "the retry to open", 3000);
      assert.ok(Date.now() - started >= 280, "abandoned no sooner than connectTimeout");
      assert.equal(peer.connections, 1);
    } finally {
      for (const socket of held) socket.destroy();
      front.close();
    }
  });

  test("connectTimeout: Infinity means no limit (not a timer that fires at once)", async () => {
    const peer = await server();
    const rt = client(peer.url, { connectTimeout: Number.POSITIVE_INFINITY });
    await waitFor(() => rt.state === "open", "open");
    await sleep(50);
    assert.equal(rt.state, "open");
    assert.equal(peer.connections, 1);
  });

  test("bad arguments throw at once and say what to pass", () => {
    assert.throws(() => connect("http://x/rt", { WebSocket }), /absolute ws:\/\/ or wss:\/\/ URL/);
    assert.throws(() => connect("/rt", { WebSocket }), /absolute ws:\/\/ or wss:\/\/ URL.*"\/rt"/);
    if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === "undefined")
      assert.throws(() => connect("ws://127.0.0.1:1/rt"), /pass ws's class.*from "ws"/);
    assert.throws(
      () => connect("ws://127.0.0.1:1/rt", { WebSocket, offlineQueue: -1 }),
      RangeError,
    );
    for (const connectTimeout of [0, -1, Number.NaN])
      assert.throws(
        () => connect("ws://127.0.0.1:1/rt", { WebSocket, connectTimeout }),
        /connect\(\): connectTimeout must be a number of ms > 0/,
      );
  });
});

describe("connect(): subscriptions", () => {
  test("messages arrive once, in order, across reconnects: each resubscribe resumes from the cursor", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const got: string[] = [];
    const sub = rt.subscribe("room", {}, (message) => got.push(String(message.data)));
    await within(sub.ready, "the subscription");
    for (let n = 1; n <= 3; n++) peer.publish("room", `m${n}`);
    await waitFor(() => got.length === 3, "three messages");
    await peer.stop();
    for (let n = 4; n <= 6; n++) peer.publish("room", `m${n}`);
    await peer.listen();
    await waitFor(() => got.length === 6, "the missed messages", 3000);
    const dropped = new Promise<CloseInfo>((resolve) => {
      const off = rt.on("close", (info) => {
        off();
        resolve(info);
      });
    });
    peer.drop(1001);
    // Published while the client is away (its reconnect waits for a timer at least).
    assert.equal((await within(dropped, "the drop")).code, 1001);
    peer.publish("room", "m7");
    await waitFor(() => got.length === 7, "the next one", 3000);
    assert.deepEqual(got, ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    const sinces = peer.framesOf("subscribe").map((frame) => (frame as { since?: string }).since);
    assert.deepEqual(sinces, [undefined, "room-3", "room-6"]);
  });

  test("a message equal to the cursor is dropped, defensively", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const got: string[] = [];
    const sub = rt.subscribe("dup", {}, (message) => got.push(message.id));
    await sub.ready;
    const id = peer.publish("dup", 1);
    await waitFor(() => got.length === 1, "the message");
    // The peer sends the same message again, as a buggy server might.
    peer.sendToSubscribers("dup", { type: "message", topic: "dup", id, event: "message", data: 1 });
    peer.publish("dup", 2);
    await waitFor(() => got.length >= 2, "the next message");
    await sleep(20);
    assert.deepEqual(got, ["dup-1", "dup-2"]);
  });

  test("replay asks for the latest N, and is replaced by since once a message came", async () => {
    const peer = await server();
    for (let n = 1; n <= 5; n++) peer.publish("news", n);
    const rt = client(peer.url);
    const got: unknown[] = [];
    rt.subscribe("news", { replay: 2 }, (message) => got.push(message.data));
    await waitFor(() => got.length === 2, "the replay");
    peer.drop();
    await waitFor(() => peer.connections === 2 && rt.state === "open", "reconnected");
    peer.publish("news", 6);
    await waitFor(() => got.length === 3, "the live one");
    assert.deepEqual(got, [4, 5, 6]);
    const frames = peer.framesOf("subscribe") as { replay?: number; since?: string }[];
    assert.deepEqual(
      frames.map(({ replay, since }) => ({ replay, since })),
      [
        { replay: 2, since: undefined },
        { replay: undefined, since: "news-5" },
      ],
    );
  });

  test("a resume point the log no longer holds gives a reset event, then messages after its id", async () => {
    const peer = await server({ history: 2 });
    const rt = client(peer.url);
    const got: string[] = [];
    const sub = rt.subscribe("t", {}, (message) => got.push(message.id));
    const resets: unknown[] = [];
    sub.on("reset", (reset) => resets.push(reset));
    await sub.ready;
    peer.publish("t", 1);
    await waitFor(() => got.length === 1, "one message");
    await peer.stop();
    for (let n = 2; n <= 6; n++) peer.publish("t", n);
    await peer.listen();
    await waitFor(() => resets.length === 1, "the reset", 3000);
    assert.deepEqual(resets, [{ topic: "t", id: "t-6", reason: "trimmed", since: "t-1" }]);
    assert.equal(sub.cursor, "t-6");
    peer.publish("t", 7);
    await waitFor(() => got.length === 2, "the next message");
    assert.deepEqual(got, ["t-1", "t-7"]);
  });

  test("a forbidden subscribe rejects ready with code forbidden, the connection stays, and it is not retried", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const sub = rt.subscribe("forbidden:x");
    const error = await rejection(sub.ready);
    assert.equal(error.code, "forbidden");
    assert.match(error.message, /Not allowed to subscribe to "forbidden:x"/);
    assert.equal(rt.state, "open");
    assert.equal(await rt.call("echo", "still here"), "still here");
    // Its iterator ends with the refusal.
    await assert.rejects(sub[Symbol.asyncIterator]().next(), RealtimeError);
    peer.drop(1012);
    await waitFor(() => peer.connections === 2 && rt.state === "open", "reconnected");
    await sleep(30);
    assert.equal(peer.framesOf("subscribe").length, 1);
    // The topic is free again.
    assert.doesNotThrow(() => rt.subscribe("forbidden:x"));
  });

  test("an unavailable subscribe is an error event and is sent again after a backoff; ready waits for the ok", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const sub = rt.subscribe("flaky:x");
    const errors: string[] = [];
    sub.on("error", (error) => errors.push(error.code));
    await within(sub.ready, "the third subscribe's ok", 3000);
    assert.deepEqual(errors, ["unavailable", "unavailable"]);
    assert.equal(peer.framesOf("subscribe").length, 3);
    assert.equal(peer.connections, 1);
  });

  test("a subscription is an async iterable; unsubscribe ends it and sends unsubscribe", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const sub = rt.subscribe("it");
    await sub.ready;
    for (let n = 1; n <= 3; n++) peer.publish("it", n);
    const got: RealtimeMessage[] = [];
    for await (const message of sub) {
      got.push(message);
      if (got.length === 3) break;
    }
    assert.deepEqual(
      got.map(({ topic, id, event, data }) => [topic, id, event, data]),
      [
        ["it", "it-1", "message", 1],
        ["it", "it-2", "message", 2],
        ["it", "it-3", "message", 3],
      ],
    );
    await waitFor(() => peer.framesOf("unsubscribe").length === 1, "the unsubscribe");
    // Unsubscribed, the topic can be followed again.
    const again = rt.subscribe("it");
    await again.ready;
    await again.unsubscribe();
  });

  test("a slow iterator: the buffer is bounded, the client pauses and resumes from its cursor, nothing lost or repeated", {
    timeout: 10_000,
  }, async () => {
    const peer = await server();
    const rt = client(peer.url);
    const sub = rt.subscribe<number>("fast", { buffer: 4 });
    await sub.ready;
    for (let n = 1; n <= 30; n++) peer.publish("fast", n);
    const got: number[] = [];
    for await (const message of sub) {
      got.push(message.data);
      await sleep(2);
      if (got.length === 30) break;
    }
    assert.deepEqual(
      got,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.ok(peer.framesOf("unsubscribe").length >= 2, "paused at least once");
  });

  test("subscribing twice to one topic is refused with the fix", () => {
    const rt = client("ws://127.0.0.1:9/rt", { reconnect: false });
    rt.subscribe("x");
    assert.throws(() => rt.subscribe("x"), /already follows "x".*unsubscribe\(\)/);
    assert.throws(() => rt.subscribe("y", { replay: 0 }), /replay must be a whole number/);
  });
});

describe("connect(): publish and call", () => {
  test("publish resolves the stored id and sends a random mid", async () => {
    const peer = await server();
    const rt = client(peer.url);
    assert.equal(await rt.publish("p", { a: 1 }, { event: "note" }), "p-1");
    assert.equal(await rt.publish("p", 2), "p-2");
    const mids = (peer.framesOf("publish") as { mid: string }[]).map((frame) => frame.mid);
    assert.equal(new Set(mids).size, 2);
    for (const mid of mids) assert.match(mid, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(peer.logs.get("p")?.[0], { id: "p-1", event: "note", data: { a: 1 } });
  });

  test("a publish whose reply was lost is sent again with the same mid and stored once", async () => {
    const peer = await server();
    const rt = client(peer.url);
    await waitFor(() => rt.state === "open", "open");
    peer.loseNextPublishReply = true;
    const id = await within(rt.publish("once", "x"), "the publish", 3000);
    assert.equal(id, "once-1");
    const frames = peer.received.filter(({ frame }) => frame.type === "publish");
    assert.equal(frames.length, 2);
    assert.notEqual(frames[0].connection, frames[1].connection);
    assert.equal(
      (frames[0].frame as { mid: string }).mid,
      (frames[1].frame as { mid: string }).mid,
    );
    assert.equal(peer.logs.get("once")?.length, 1);
  });

  test("offline, publishes wait in a bounded queue: over it they reject at once with unavailable", async () => {
    const peer = await server();
    const rt = client(peer.url, { offlineQueue: 2 });
    await waitFor(() => rt.state === "open", "open");
    await peer.stop();
    await waitFor(() => rt.state === "reconnecting", "offline");
    const first = rt.publish("q", 1);
    const second = rt.publish("q", 2);
    const error = await rejection(rt.publish("q", 3));
    assert.equal(error.code, "unavailable");
    assert.match(error.message, /offline queue is full \(2 waiting\)/);
    await peer.listen();
    assert.deepEqual(await within(Promise.all([first, second]), "the queued publishes", 3000), [
      "q-1",
      "q-2",
    ]);
    assert.deepEqual(
      peer.logs.get("q")?.map((stored) => stored.data),
      [1, 2],
    );
  });

  test("call resolves the result; an error reply rejects with its code", async () => {
    const peer = await server();
    const rt = client(peer.url);
    assert.deepEqual(await rt.call("echo", { n: 1 }), { n: 1 });
    const error = await rejection(rt.call("nope"));
    assert.equal(error.code, "not_found");
    assert.match(error.message, /No method "nope"/);
  });

  test("a call with no reply rejects with timeout after its timeout", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const started = performance.now();
    const error = await rejection(rt.call("never", null, { timeout: 80 }));
    assert.equal(error.code, "timeout");
    assert.match(error.message, /call\("never"\) got no reply within 80 ms/);
    assert.ok(performance.now() - started >= 75);
  });

  test("close(): waiting calls reject with unavailable, iterators end, no reconnect", async () => {
    const peer = await server();
    const rt = client(peer.url);
    const sub = rt.subscribe("c");
    await sub.ready;
    const iterator = sub[Symbol.asyncIterator]();
    const next = iterator.next();
    const call = rt.call("never");
    const closed = new Promise<CloseInfo>((resolve) => rt.on("close", resolve));
    rt.close();
    assert.equal(rt.state, "closed");
    assert.equal((await rejection(call)).code, "unavailable");
    assert.deepEqual(await next, { value: undefined, done: true });
    assert.equal((await rejection(rt.publish("c", 1))).code, "unavailable");
    assert.deepEqual(await within(closed, "the close event"), {
      code: 1000,
      reason: "",
      reconnecting: false,
    });
    await sleep(100);
    assert.equal(peer.connections, 1);
  });
});
