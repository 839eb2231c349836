/*
 * app.realtime over WebSocket against clients that push it: a peer that stops reading during
 * a replay, a session closed while 64 calls are pending, subscribes pipelined past the limit,
 * data JSON.stringify cannot write back, stored text that is not JSON, and middleware that
 * returns (rather than throws) a refusal.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { App, HttpError, HttpResponse, memoryBroker } from "../src/index.js";
import { RealtimeSink } from "../src/realtime/realtime-sink.js";
import { TopicMessage } from "../src/topics/topic-message.js";
import type { WebSocketMessage } from "../src/websocket/websocket-message.js";
import { LiveOnlyBroker } from "./support/live-only-broker.js";
import { capturedLogger } from "./support/logging.js";
import { type Frame, NOT_JSON, RealtimePeer } from "./support/realtime-peer.js";
import { sleep, waitFor, within } from "./support/wait.js";

async function wsUrl(app: App): Promise<string> {
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return `${url.replace(/^http/, "ws")}/rt`;
}

function errorOf(reply: Frame): { code: string; message: string } {
  return reply.error as { code: string; message: string };
}

/** The TCP socket under a `ws` client: pausing it stops the client reading. */
function tcpOf(peer: RealtimePeer): Socket {
  return (peer.ws as unknown as { _socket: Socket })._socket;
}

/** Timers alive in this process now. */
function timerCount(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;
}

describe("app.realtime under pressure", () => {
  test("live messages held behind a replay to a peer that stopped reading are bounded: past maxBuffered it is closed with 1013", async () => {
    const { logger, lines } = capturedLogger("warn");
    const app = new App({ logger, broker: memoryBroker({ history: 1000 }) });
    const maxBuffered = 256 * 1024;
    app.realtime("/rt", { subscribe: ["hot"], heartbeat: 0, maxBuffered });
    const url = await wsUrl(app);
    try {
      const big = "x".repeat(50_000);
      // 10 MB of replay: more than the kernel's buffers take from a peer that does not read.
      for (let i = 0; i < 200; i++) await app.publish("hot", big);
      const peer = await RealtimePeer.connect(url);
      tcpOf(peer).pause();
      peer.send(JSON.stringify({ type: "subscribe", ref: 1, topic: "hot", replay: 200 }));
      await sleep(200);
      // Live messages pile up behind the stalled replay: 2 MB, far past maxBuffered.
      for (let i = 0; i < 200; i++) await app.publish("hot", "y".repeat(10_000));
      await waitFor(
        () => lines.some((line) => /held behind a replay/.test(line.msg)),
        "the slow peer cut off",
      );
      tcpOf(peer).resume();
      const closed = await within(peer.closed, "the close", 5000);
      assert.equal(closed.code, 1013);
      await waitFor(() => app.topicSubscribers === 0, "the subscription gone");
    } finally {
      await app.close({ timeout: 500 });
    }
  });

  test("a replay that the peer reads is not cut off, however many live messages come meanwhile within maxBuffered", async () => {
    const app = new App({ logger: false, broker: memoryBroker({ history: 1000 }) });
    app.realtime("/rt", { subscribe: ["hot"], heartbeat: 0 });
    const url = await wsUrl(app);
    try {
      for (let i = 0; i < 500; i++) await app.publish("hot", i);
      const peer = await RealtimePeer.connect(url);
      assert.equal((await peer.request({ type: "subscribe", topic: "hot", replay: 500 })).ok, true);
      // Published while the replay goes out: held behind it, well within maxBuffered.
      for (let i = 500; i < 1000; i++) void app.publish("hot", i);
      const got = await peer.waitForMessages("hot", 1000, 5000);
      assert.deepEqual(
        got.map((frame) => frame.data),
        Array.from({ length: 1000 }, (_, i) => i),
      );
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("a connection closed while its 64 request slots are taken ends its session at once: its subscriptions go", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", {
      subscribe: ["leak"],
      callTimeout: 60_000,
      methods: { never: () => new Promise(() => {}), echo: (params) => params },
    });
    const url = await wsUrl(app);
    try {
      const peer = await RealtimePeer.connect(url);
      assert.equal((await peer.request({ type: "subscribe", topic: "leak" })).ok, true);
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      const timersBefore = timerCount();
      for (let i = 0; i < 64; i++) {
        peer.send(JSON.stringify({ type: "call", ref: 1000 + i, method: "never" }));
      }
      peer.send(JSON.stringify({ type: "call", ref: 2000, method: "echo" }));
      await sleep(100);
      assert.equal(app.topicSubscribers, 1);
      await peer.close();
      await waitFor(() => app.topicSubscribers === 0, "the subscription to end with the socket");
      // The calls are no longer waited for: their 60 s timers are gone with the connection.
      await waitFor(() => timerCount() <= timersBefore, "the calls' timers cleared");
      process.off("warning", onWarning);
      assert.deepEqual(
        warnings.map((warning) => warning.name),
        [],
      );
      // Nothing of the session holds the app: it closes without waiting for the calls.
      const started = Date.now();
      await app.close({ timeout: 5000 });
      assert.ok(Date.now() - started < 2000, `app.close took ${Date.now() - started} ms`);
    } finally {
      await app.close();
    }
  });

  test("subscribes pipelined past maxSubscriptions: only that many succeed, the rest are forbidden", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", {
      // A slow rule: every subscribe is under way at once.
      subscribe: async () => {
        await sleep(20);
        return true;
      },
      maxSubscriptions: 3,
    });
    const url = await wsUrl(app);
    try {
      const peer = await RealtimePeer.connect(url);
      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, i) => peer.request({ type: "subscribe", topic: `t${i}` })),
      );
      assert.equal(replies.filter((reply) => reply.ok).length, 3);
      const refused = replies.filter((reply) => !reply.ok);
      assert.ok(refused.every((reply) => errorOf(reply).code === "forbidden"));
      assert.match(errorOf(refused[0] as Frame).message, /At most 3 subscriptions/);
      assert.equal(app.topicSubscribers, 3);
      // The count is exact once they settled: one unsubscribe makes room for one more.
      const followed = replies.findIndex((reply) => reply.ok);
      await peer.request({ type: "unsubscribe", topic: `t${followed}` });
      assert.equal((await peer.request({ type: "subscribe", topic: "u1" })).ok, true);
      assert.equal((await peer.request({ type: "subscribe", topic: "u2" })).ok, false);
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("publish data nested too deep to be written back as JSON: invalid (not unavailable), and the broker is not blamed", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    app.realtime("/rt", { subscribe: ["x"], publish: ["x"] });
    const url = await wsUrl(app);
    try {
      const peer = await RealtimePeer.connect(url);
      const depth = 200_000;
      peer.send(
        `{"type":"publish","ref":"deep","topic":"x","data":${"[".repeat(depth)}${"]".repeat(depth)}}`,
      );
      const reply = await peer.reply("deep");
      assert.equal(reply.ok, false);
      assert.equal(errorOf(reply).code, "invalid");
      assert.match(errorOf(reply).message, /cannot be stored as JSON/);
      assert.ok(!lines.some((line) => /broker/.test(line.msg)), "no broker warning");
      // The connection stays, and ordinary data is stored.
      const ok = await peer.request({ type: "publish", topic: "x", data: [[1]] });
      assert.equal(ok.ok, true);
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("a stored message whose text is not JSON is dropped (logged), never spliced into a frame", async () => {
    const { logger, lines } = capturedLogger("warn");
    const broker = new LiveOnlyBroker();
    const app = new App({ logger, broker });
    app.realtime("/rt", { subscribe: ["t"] });
    const url = await wsUrl(app);
    try {
      const peer = await RealtimePeer.connect(url);
      assert.equal((await peer.request({ type: "subscribe", topic: "t" })).ok, true);
      // Text another process wrote: the broker hands it over as it is.
      await broker.publish("t", undefined, '1,"type":"welcome"');
      await broker.publish("t", undefined, '{"ok":\n true}');
      const [message] = await peer.waitForMessages("t", 1);
      assert.deepEqual(message?.data, { ok: true });
      await sleep(50);
      assert.equal(peer.messagesOf("t").length, 1);
      assert.ok(!peer.frames.some((frame) => frame.type === NOT_JSON));
      assert.ok(lines.some((line) => /not JSON; dropped/.test(line.msg)));
      await peer.close();
    } finally {
      await app.close();
    }
  });
});

/** How a WebSocket attempt ended: an HTTP status, or a close code and reason. */
function outcome(url: string, headers: Record<string, string>) {
  return new Promise<{ code?: number; reason?: string; status?: number }>((resolve) => {
    const ws = new WebSocket(url, ["sluice.v1"], { headers });
    ws.on("unexpected-response", (_request, response) => {
      resolve({ status: response.statusCode });
      ws.terminate();
    });
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on("error", () => {});
  });
}

describe("app.realtime refusals by middleware", () => {
  test("a 4xx response returned by middleware closes after the handshake with 4000 + status, like a thrown one", async () => {
    const app = new App({ logger: false });
    app.use((request, next) => {
      const mode = request.header("x-mode");
      if (mode === "throw") throw new HttpError(403, "nope");
      if (mode === "web") return new Response("not read", { status: 403 });
      if (mode === "text") return HttpResponse.text("Sign in first", { statusCode: 401 });
      if (mode === "busy") throw new HttpError(503, "busy");
      if (mode === "redirect") return new Response(null, { status: 302 });
      return next();
    });
    app.realtime("/rt", {
      subscribe: ["a"],
      onConnect(ctx) {
        if (ctx.request.header("x-mode") === "later") throw new HttpError(503, "later");
      },
    });
    app.websocket("/plain", async () => {});
    const url = await wsUrl(app);
    try {
      assert.deepEqual(await outcome(url, { "x-mode": "throw" }), { code: 4403, reason: "nope" });
      assert.deepEqual(await outcome(url, { "x-mode": "web" }), {
        code: 4403,
        reason: "Forbidden",
      });
      assert.deepEqual(await outcome(url, { "x-mode": "text" }), {
        code: 4401,
        reason: "Sign in first",
      });
      // Not refusals a client must not retry: answered over HTTP as before.
      assert.deepEqual(await outcome(url, { "x-mode": "busy" }), { status: 503 });
      assert.deepEqual(await outcome(url, { "x-mode": "redirect" }), { status: 302 });
      // onConnect's 5xx: after the handshake, in the 4500-4599 range (retry later).
      assert.deepEqual(await outcome(url, { "x-mode": "later" }), { code: 4503, reason: "later" });
      // Other WebSocket routes keep answering a returned response over HTTP.
      assert.deepEqual(await outcome(url.replace("/rt", "/plain"), { "x-mode": "web" }), {
        status: 403,
      });
    } finally {
      await app.close();
    }
  });
});

describe("RealtimeSink's bound on live messages held behind a replay", () => {
  /** A socket whose sends complete when the test says: the peer's pace, step by step. */
  class SteppedSocket {
    readonly sent: string[] = [];
    readonly closes: number[] = [];
    #pending: (() => void)[] = [];
    send(message: WebSocketMessage): Promise<void> {
      this.sent.push(message.payload.toString());
      return new Promise((resolve) => this.#pending.push(resolve));
    }
    close(code: number): void {
      this.closes.push(code);
    }
    /** Lets the oldest send complete, then lets the sink go on. */
    async step(): Promise<void> {
      this.#pending.shift()?.();
      await sleep(0);
    }
  }

  const message = (id: number) =>
    new TopicMessage({ topic: "t", id: `1-${id}`, event: undefined, json: `"${"x".repeat(40)}"` });

  test("counts what waits, not what went out: a peer that keeps reading is never cut off", async () => {
    const socket = new SteppedSocket();
    const frameBytes = message(0).realtimeFrame.payload.length;
    const sink = new RealtimeSink(socket, Math.floor(frameBytes * 1.5), capturedLogger().logger);
    sink.receiveMissed([message(1), message(2)]);
    sink.receive(message(3)); // live, held behind the replay
    const opened = sink.open();
    await socket.step(); // 1 out
    await socket.step(); // 2 out
    sink.receive(message(4)); // 3 is being sent: 4 alone waits
    await socket.step(); // 3 out
    sink.receive(message(5)); // 4 is being sent: 5 alone waits
    assert.deepEqual(socket.closes, []);
    // Two live messages waiting at once are over the bound.
    sink.receive(message(6));
    assert.deepEqual(socket.closes, [1013]);
    await socket.step();
    await opened;
    assert.equal(socket.sent.length, 4, "nothing after the cut");
  });
});
