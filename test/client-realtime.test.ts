// sluice/client against the real app.realtime(): subscribe, publish with its reply, call,
// the bearer token, and a reconnect after the connections were cut, resuming from the cursor.
// Connections go through a TCP proxy that the test can cut, so the app and its broker live on.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import {
  type CloseInfo,
  type ConnectOptions,
  connect,
  type Realtime,
  RealtimeError,
} from "../src/client/index.js";
import { type App, bearerAuth, HttpError, memoryBroker } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { waitFor, within } from "./support/wait.js";

/** A TCP proxy to `port` whose connections `cut()` destroys (the client sees 1006). */
async function cuttableProxy(
  port: number,
): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${proxyPort}/rt`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const users: Record<string, { name: string }> = { "token-ada": { name: "ada" } };

describe("sluice/client against app.realtime()", () => {
  let app: App;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  const clients: Realtime[] = [];

  function client(options: ConnectOptions = {}): Realtime {
    const rt = connect(proxy.url, {
      WebSocket,
      token: () => "token-ada",
      reconnect: { initialDelay: 20, maxDelay: 100 },
      ...options,
    });
    clients.push(rt);
    return rt;
  }

  before(async () => {
    app = quietApp({ broker: memoryBroker({ history: 100 }) });
    app.use(bearerAuth({ subprotocol: "bearer", verify: (token) => users[token] }));
    app.realtime("/rt", {
      subscribe: ["chat:*"],
      publish: ["chat:*"],
      methods: {
        add: (params) => (params as { a: number }).a + (params as { b: number }).b,
        whoami: (_params, ctx) => (ctx.request.state as { auth: { name: string } }).auth.name,
        refuse: () => {
          throw new HttpError(403, "Only admins may do this");
        },
      },
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    proxy = await cuttableProxy(Number(new URL(url).port));
  });

  after(async () => {
    for (const rt of clients) rt.close();
    await proxy.close();
    await app.close();
  });

  test("subscribe, publish (its reply the stored id) and receive the message", async () => {
    const rt = client();
    const got: unknown[] = [];
    const sub = rt.subscribe("chat:a", {}, (message) => got.push(message.data));
    await within(sub.ready, "the subscription");
    const id = await rt.publish("chat:a", { text: "hi" }, { event: "said" });
    assert.equal((await app.history("chat:a", { limit: 1 }))[0]?.id, id);
    await waitFor(() => got.length === 1, "the message");
    assert.deepEqual(got, [{ text: "hi" }]);
  });

  test("call: a result, an HttpError's code and message, an unknown method", async () => {
    const rt = client();
    assert.equal(await rt.call("add", { a: 2, b: 3 }), 5);
    assert.equal(await rt.call("whoami"), "ada");
    await assert.rejects(rt.call("refuse"), (error) => {
      assert.ok(error instanceof RealtimeError);
      assert.equal(error.code, "forbidden");
      assert.equal(error.message, "Only admins may do this");
      return true;
    });
    await assert.rejects(rt.call("nope"), { code: "not_found" });
  });

  test("forbidden subscribe and publish reject with forbidden; the connection stays", async () => {
    const rt = client();
    await assert.rejects(rt.subscribe("admin").ready, { code: "forbidden" });
    await assert.rejects(rt.publish("admin", 1), { code: "forbidden" });
    assert.equal(rt.state, "open");
    assert.equal(await rt.call("add", { a: 1, b: 1 }), 2);
  });

  test("a refused token ends in state closed with 4401, without retrying", async () => {
    const rt = client({ token: () => "token-eve" });
    const closed = await within(
      new Promise<CloseInfo>((resolve) => rt.on("close", resolve)),
      "the refusal",
    );
    assert.equal(closed.code, 4401);
    assert.equal(closed.reconnecting, false);
    assert.equal(rt.state, "closed");
  });

  test("after the connections are cut, the client reconnects and resumes: nothing missed or repeated", async () => {
    const rt = client();
    const got: unknown[] = [];
    const sub = rt.subscribe("chat:resume", {}, (message) => got.push(message.data));
    await sub.ready;
    for (let n = 1; n <= 3; n++) await app.publish("chat:resume", n);
    await waitFor(() => got.length === 3, "three messages");
    const dropped = new Promise<void>((resolve) => {
      const off = rt.on("close", () => {
        off();
        resolve();
      });
    });
    proxy.cut();
    await within(dropped, "the cut");
    for (let n = 4; n <= 6; n++) await app.publish("chat:resume", n);
    // A publish of the client's own made while it is away waits, then is stored once.
    const own = rt.publish("chat:resume", "mine");
    await waitFor(() => rt.state === "open", "the reconnect", 3000);
    await within(own, "the queued publish");
    await app.publish("chat:resume", 7);
    await waitFor(() => got.length === 8, "every message", 3000);
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, "mine", 7]);
    assert.equal((await app.history("chat:resume")).filter((m) => m.data === "mine").length, 1);
  });
});

describe("sluice/client paces itself below the server's frame rate", () => {
  test("a burst of 120 publishes against a limit of 20 per 500 ms: all stored, never closed 1008", async () => {
    const app = quietApp();
    app.realtime("/rt", { publish: ["burst"], messageRate: { messages: 20, perMs: 500 } });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const rt = connect(`${url.replace(/^http/, "ws")}/rt`, { WebSocket, offlineQueue: 200 });
    const closes: CloseInfo[] = [];
    rt.on("close", (info) => closes.push(info));
    try {
      await waitFor(() => rt.state === "open", "the connection");
      const started = performance.now();
      const ids = await within(
        Promise.all(Array.from({ length: 120 }, (_, i) => rt.publish("burst", i))),
        "every publish",
        15_000,
      );
      assert.equal(new Set(ids).size, 120);
      assert.deepEqual(closes, [], "the server never closed the connection");
      // 120 frames at 20 per 500 ms (the client keeps a margin) take seconds, not a moment.
      assert.ok(performance.now() - started > 2000, "the burst was paced");
      assert.equal((await app.history("burst", { limit: 200 })).length, 120);
    } finally {
      rt.close();
      await app.close();
    }
  });
});
