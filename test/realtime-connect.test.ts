/*
 * Connecting to app.realtime(): the subprotocol, app middleware before the upgrade (a refusal
 * completes the handshake and closes with 4000 + status, which a browser can read), origins,
 * ctx.request.state from auth, and options refused at registration.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { App, bearerAuth, HttpError } from "../src/index.js";
import { capturedLogger } from "./support/logging.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { waitFor } from "./support/wait.js";

interface User {
  name: string;
}
const users: Record<string, User> = { "token-ada": { name: "ada" } };

async function authApp() {
  const { logger, lines } = capturedLogger("info");
  const app = new App({ logger }).use(
    bearerAuth<User>({ subprotocol: "bearer", verify: (token) => users[token] }),
  );
  app.realtime("/rt", {
    subscribe: (topic, ctx) => topic === `user:${ctx.request.state.auth.name}`,
    methods: { whoami: (_params, ctx) => ctx.request.state.auth.name },
  });
  app.websocket("/plain", () => {});
  const listening = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, lines, ws: listening.url.replace(/^http/, "ws") };
}

/** Opens a socket and resolves how it ended: the close code and reason, or the HTTP status. */
function outcome(url: string, protocols: string[], headers?: Record<string, string>) {
  return new Promise<{ code?: number; reason?: string; status?: number; protocol?: string }>(
    (resolve) => {
      const ws = new WebSocket(url, protocols, { headers });
      let protocol: string | undefined;
      ws.on("open", () => {
        protocol = ws.protocol;
      });
      ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode }));
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString(), protocol }));
      ws.on("error", () => {});
    },
  );
}

describe("app.realtime connecting", () => {
  test("a token in the bearer subprotocol is accepted; ctx.request.state carries the principal", async () => {
    const { app, lines, ws } = await authApp();
    try {
      const peer = await RealtimePeer.connect(`${ws}/rt`, {
        protocols: ["sluice.v1", "bearer", "token-ada"],
      });
      assert.equal(peer.ws.protocol, "sluice.v1");
      assert.equal((await peer.request({ type: "call", method: "whoami" })).result, "ada");
      assert.equal((await peer.request({ type: "subscribe", topic: "user:ada" })).ok, true);
      const other = await peer.request({ type: "subscribe", topic: "user:bob" });
      assert.equal((other.error as { code: string }).code, "forbidden");
      await peer.close();
      assert.ok(
        !lines.some((line) => line.route === "/rt" && /subprotocol/.test(line.msg)),
        "no auth-subprotocol warning at start-up",
      );
    } finally {
      await app.close();
    }
  });

  test("a refusal by auth middleware completes the handshake and closes with 4401 and its message", async () => {
    const { app, ws } = await authApp();
    try {
      const refused = await outcome(`${ws}/rt`, ["sluice.v1"]);
      assert.equal(refused.code, 4401);
      assert.ok((refused.reason ?? "").length > 0, "the reason says why");
      assert.equal(refused.protocol, "sluice.v1");
      const wrong = await outcome(`${ws}/rt`, ["sluice.v1", "bearer", "token-eve"]);
      assert.equal(wrong.code, 4401);
      // Plain WebSocket routes keep answering over HTTP.
      assert.deepEqual(await outcome(`${ws}/plain`, []), { status: 401 });
    } finally {
      await app.close();
    }
  });

  test("a client that does not offer sluice.v1 is closed with 4400", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", {});
    const listening = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const closed = await outcome(`${listening.url.replace(/^http/, "ws")}/rt`, []);
      assert.equal(closed.code, 4400);
      assert.match(closed.reason ?? "", /sluice\.v1/);
    } finally {
      await app.close();
    }
  });

  test("an origin the endpoint does not allow is closed with 1008 after the handshake", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", { origins: ["https://app.example"] });
    const listening = await app.listen({ port: 0, host: "127.0.0.1" });
    const url = `${listening.url.replace(/^http/, "ws")}/rt`;
    try {
      const refused = await outcome(url, ["sluice.v1"], { origin: "https://evil.example" });
      assert.equal(refused.code, 1008);
      const allowed = await RealtimePeer.connect(url, {
        headers: { origin: "https://app.example" },
      });
      assert.equal(allowed.ws.protocol, "sluice.v1");
      await allowed.close();
    } finally {
      await app.close();
    }
  });

  test("realtime() works in a group, under the group's middleware", async () => {
    const app = new App({ logger: false });
    app.group("/api", (api) => {
      api.use(bearerAuth({ subprotocol: "bearer", verify: (token) => users[token] }));
      api.realtime("/rt", { methods: { ping: () => "pong" } });
    });
    const listening = await app.listen({ port: 0, host: "127.0.0.1" });
    const url = `${listening.url.replace(/^http/, "ws")}/api/rt`;
    try {
      assert.equal((await outcome(url, ["sluice.v1"])).code, 4401);
      const peer = await RealtimePeer.connect(url, {
        protocols: ["sluice.v1", "bearer", "token-ada"],
      });
      assert.equal((await peer.request({ type: "call", method: "ping" })).result, "pong");
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("bad options throw a TypeError at registration, naming the option", () => {
    const app = new App({ logger: false });
    const cases: [unknown, RegExp][] = [
      [null, /options must be an object/],
      [{ subscribe: "chat:*" }, /subscribe must be a list of topic patterns/],
      [{ publish: [""] }, /publish patterns must be non-empty strings/],
      [{ subscribe: ["a:**"] }, /"\*\*" means nothing/],
      [{ methods: { x: 1 } }, /methods\.x must be a function/],
      [{ methods: [] }, /methods must be an object/],
      [{ maxSubscriptions: 0 }, /maxSubscriptions must be a whole number/],
      [{ callTimeout: 1.5 }, /callTimeout must be a whole number/],
      [{ sse: 5 }, /sse must be an object/],
      [{ sse: { keepAlive: -1 } }, /keepAlive/],
      [{ subscibe: ["a"] }, /unknown option "subscibe"/],
      [{ protocols: ["x"] }, /unknown option "protocols"/],
      [{ maxPayload: -1 }, /maxPayload/],
      [{ messageRate: { messages: 0, perMs: 1 } }, /messageRate\.messages/],
      [{ onConnect: "hello" }, /onConnect must be a function/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => app.realtime("/rt", options as never),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
        JSON.stringify(options),
      );
    }
  });

  test("onConnect runs once per client before the welcome; its HttpError refuses with 4000 + status, SSE with the status", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    const seen: { clientId: string; transport: string; left: boolean }[] = [];
    app.realtime("/rt", {
      subscribe: ["news"],
      onConnect(ctx) {
        if (ctx.request.headers["x-refuse"] === "yes") throw new HttpError(403, "Banned");
        if (ctx.request.headers["x-crash"] === "yes") throw new Error("hook bug");
        const entry = { clientId: ctx.clientId, transport: ctx.socket ? "ws" : "sse", left: false };
        seen.push(entry);
        ctx.request.signal.addEventListener("abort", () => {
          entry.left = true;
        });
      },
    });
    const base = (await app.listen({ port: 0, host: "127.0.0.1" })).url;
    const ws = base.replace(/^http/, "ws");
    try {
      const peer = await RealtimePeer.connect(`${ws}/rt`);
      await waitFor(() => peer.frames.length > 0, "the welcome");
      const welcome = peer.frames[0] as { type: string; clientId: string };
      assert.equal(welcome.type, "welcome");
      assert.deepEqual(seen, [{ clientId: welcome.clientId, transport: "ws", left: false }]);
      await peer.close();
      await waitFor(() => seen[0]?.left === true, "the request's signal to abort at close");

      const refused = await outcome(`${ws}/rt`, ["sluice.v1"], { "x-refuse": "yes" });
      assert.deepEqual([refused.code, refused.reason], [4403, "Banned"]);
      const crashed = await outcome(`${ws}/rt`, ["sluice.v1"], { "x-crash": "yes" });
      assert.equal(crashed.code, 1011);
      await waitFor(
        () => lines.some((line) => JSON.stringify(line).includes("hook bug")),
        "the crash logged",
      );

      const sse = await fetch(`${base}/rt?topic=news`, { headers: { "x-refuse": "yes" } });
      assert.equal(sse.status, 403);
      const stream = new AbortController();
      const open = await fetch(`${base}/rt?topic=news`, { signal: stream.signal });
      assert.equal(open.status, 200);
      assert.equal(seen.at(-1)?.transport, "sse");
      stream.abort();
      await waitFor(() => seen.at(-1)?.left === true, "the SSE request's signal to abort");
      assert.equal(seen.length, 2, "refused clients are not counted");
    } finally {
      await app.close();
    }
  });

  test("a rule may refuse with its reason: an HttpError thrown by it is the reply's code and message (SSE: its status)", async () => {
    const app = new App({ logger: false });
    app.realtime("/rt", {
      subscribe: (topic) => {
        if (topic === "vip") throw new HttpError(403, "Members only");
        return true;
      },
      publish: (_topic, data) => {
        if (typeof data === "string" && data.length > 5) throw new HttpError(422, "Text too long");
        return true;
      },
    });
    const base = (await app.listen({ port: 0, host: "127.0.0.1" })).url;
    try {
      const peer = await RealtimePeer.connect(`${base.replace(/^http/, "ws")}/rt`);
      const vip = await peer.request({ type: "subscribe", topic: "vip" });
      assert.deepEqual(vip.error, { code: "forbidden", message: "Members only" });
      const long = await peer.request({ type: "publish", topic: "room", data: "far too long" });
      assert.deepEqual(long.error, { code: "invalid", message: "Text too long" });
      const ok = await peer.request({ type: "publish", topic: "room", data: "hi" });
      assert.equal(ok.ok, true, "the connection stays and serves on");
      await peer.close();
      const sse = await fetch(`${base}/rt?topic=room&topic=vip`);
      assert.equal(sse.status, 403);
      assert.match(((await sse.json()) as { message: string }).message, /Members only/);
    } finally {
      await app.close();
    }
  });
});
