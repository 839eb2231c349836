/*
 * The bounds app.realtime() documents (docs/protocol.md, docs/security.md), each checked at
 * its default: frames per connection, topics per connection, requests awaiting replies, a
 * method's time, topics per SSE request, and what may wait for an SSE client that does not
 * read. Each would fail if its number changed.
 */
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { describe, test } from "node:test";
import { App } from "../src/index.js";
import { armedDelays } from "./support/armed-delays.js";
import { capturedLogger } from "./support/logging.js";
import { portOf } from "./support/raw-http.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { waitFor, within } from "./support/wait.js";

async function listening(app: App): Promise<{ http: string; ws: string }> {
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return { http: url, ws: `${url.replace(/^http/, "ws")}/rt` };
}

function repliesOf(peer: RealtimePeer): Frame[] {
  return peer.frames.filter((frame) => frame.type === "reply");
}

describe("app.realtime bounds at their defaults", () => {
  test("frames: a burst of 200 is read, the 201st closes with 1008", async (t) => {
    const app = new App({ logger: false });
    app.realtime("/rt", {});
    const { ws } = await listening(app);
    // The clock stands still during each burst: a busy machine that pauses this process
    // mid-burst would otherwise let tokens come back (one each 5 ms) and hide the bound.
    const now = performance.now.bind(performance);
    let frozen: number | undefined;
    t.mock.method(performance, "now", () => frozen ?? now());
    try {
      // Malformed frames count like any other, and are answered at once (nothing awaits).
      const within200 = await RealtimePeer.connect(ws);
      frozen = now();
      for (let i = 0; i < 200; i++) within200.send("not json");
      await waitFor(() => repliesOf(within200).length === 200, "200 replies");
      assert.equal(within200.ws.readyState, within200.ws.OPEN, "a burst of 200 is allowed");
      frozen = undefined;
      await within200.close();

      const over = await RealtimePeer.connect(ws);
      frozen = now();
      for (let i = 0; i < 201; i++) over.send("not json");
      const closed = await within(over.closed, "the close", 5000);
      assert.equal(closed.code, 1008);
    } finally {
      frozen = undefined;
      await app.close();
    }
  });

  test("topics: one connection may follow 1 000; the 1 001st subscribe is refused", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", { subscribe: ["t:*"], messageRate: false });
    const { ws } = await listening(app);
    try {
      const peer = await RealtimePeer.connect(ws);
      for (let i = 0; i < 1000; i++)
        peer.send(JSON.stringify({ type: "subscribe", ref: i, topic: `t:${i}` }));
      await waitFor(() => repliesOf(peer).length === 1000, "1 000 replies", 20_000);
      assert.ok(repliesOf(peer).every((reply) => reply.ok === true));
      const over = await peer.request({ type: "subscribe", ref: "over", topic: "t:1000" });
      assert.equal(over.ok, false);
      assert.equal((over.error as { code: string }).code, "forbidden");
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("requests awaiting replies: 64 run at once, the next frames wait unread", async () => {
    const app = new App({ logger: false });
    let started = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.realtime("/rt", {
      methods: {
        wait: async () => {
          started++;
          await gate;
          return "done";
        },
      },
    });
    const { ws } = await listening(app);
    try {
      const peer = await RealtimePeer.connect(ws);
      for (let i = 0; i < 70; i++)
        peer.send(JSON.stringify({ type: "call", ref: i, method: "wait" }));
      await waitFor(() => started === 64, "64 calls running");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(started, 64, "the 65th waits until a reply went out");
      release();
      await waitFor(() => repliesOf(peer).length === 70, "every call answered");
      assert.equal(started, 70);
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("a method may take 30 s before its caller gets a timeout reply", async () => {
    const app = new App({ logger: false });
    let finish: () => void = () => {};
    let called = false;
    app.realtime("/rt", {
      methods: {
        slow: () =>
          new Promise<string>((resolve) => {
            called = true;
            finish = () => resolve("late");
          }),
      },
    });
    const { ws } = await listening(app);
    try {
      const peer = await RealtimePeer.connect(ws);
      const delays = await armedDelays("setTimeout", async () => {
        peer.send(JSON.stringify({ type: "call", ref: 1, method: "slow" }));
        await waitFor(() => called, "the method to start");
      });
      assert.ok(delays.includes(30_000), `timers armed by the call: ${delays.join(", ")}`);
      finish();
      assert.equal((await peer.reply(1)).result, "late");
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("SSE: 32 topics in one request are served, 33 refused with 400", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", { subscribe: ["t:*"] });
    const { http } = await listening(app);
    try {
      const query = (count: number) =>
        Array.from({ length: count }, (_, i) => `topic=t:${i}`).join("&");
      const abort = new AbortController();
      const ok = await fetch(`${http}/rt?${query(32)}`, { signal: abort.signal });
      assert.equal(ok.status, 200);
      abort.abort();
      const over = await fetch(`${http}/rt?${query(33)}`);
      assert.equal(over.status, 400);
    } finally {
      await app.close();
    }
  });

  test("SSE: 1 000 messages may wait for a client that does not read; the 1 001st ends its stream", async () => {
    const { logger, lines } = capturedLogger("warn");
    const app = new App({ logger });
    app.realtime("/rt", { subscribe: ["feed"] });
    const { http } = await listening(app);
    const socket = tcpConnect(portOf(http), "127.0.0.1");
    try {
      socket.pause(); // reads nothing until told
      socket.write("GET /rt?topic=feed HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor(() => app.topicSubscribers === 1, "the stream to be live");
      // One message far larger than the socket buffers: the stream writes it and then waits
      // for the client, so every later message queues.
      await app.publish("feed", "x".repeat(32 * 1024 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (let i = 0; i < 1000; i++) await app.publish("feed", i);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(app.topicSubscribers, 1, "1 000 waiting is allowed");
      await app.publish("feed", 1000);
      await waitFor(() => app.topicSubscribers === 0, "the 1 001st to cut the stream off");
      assert.ok(lines.some((line) => JSON.stringify(line).includes("fell too far behind")));
      // What was queued still goes out, then the stream ends.
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        text += chunk;
      });
      socket.resume();
      await within(
        new Promise((resolve) => socket.once("end", resolve)),
        "the stream to end",
        20_000,
      );
      const small = [...text.matchAll(/"data":(\d+)\}/g)].map((match) => Number(match[1]));
      assert.deepEqual(
        small,
        Array.from({ length: 1000 }, (_, i) => i),
      );
    } finally {
      socket.destroy();
      await app.close();
    }
  });
});
