// What an idle WebSocket no longer allocates up front (its inbox, its `closed` promise, a
// closure per listener, an async frame per handler) must still behave as when it did:
// real `ws` clients over 127.0.0.1.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, type CloseInfo } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { aborted, sleep, waitFor, within } from "./support/wait.js";

describe("idle WebSockets: what is made on first use behaves as before", () => {
  test("`closed` first asked for after the close reports the peer's code and reason, as one promise", async () => {
    const app = quietApp();
    let seen: { info: CloseInfo; same: boolean } | undefined;
    app.websocket("/late", async (socket) => {
      await aborted(socket.signal);
      const closed = socket.closed;
      seen = {
        info: await within(closed, "closed after the close"),
        same: closed === socket.closed,
      };
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/late");
    await ws.close(4001, "bye");
    await waitFor(() => seen !== undefined, "the handler to read closed");
    assert.deepEqual(seen?.info, { code: 4001, reason: "bye" });
    assert.ok(seen?.same, "the same promise each time");
  });

  test("messages that came before the handler's first read are kept: read after the close, then the end", async () => {
    const app = quietApp();
    let read: unknown[] | undefined;
    app.websocket("/late-reader", async (socket) => {
      await aborted(socket.signal);
      const first = await socket.receive();
      const rest: unknown[] = [];
      for await (const message of socket) rest.push(message);
      read = [first, ...rest, await socket.receive()];
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/late-reader");
    await ws.send("a");
    await ws.send(Buffer.from([1, 2]));
    await ws.send("c");
    await ws.close(1000);
    await waitFor(() => read !== undefined, "the handler's reads");
    assert.deepEqual(read, ["a", Buffer.from([1, 2]), "c", undefined]);
  });

  test("a socket that closed before anything came or was read: receive() and receiveJson() give undefined, for-await ends", async () => {
    const app = quietApp();
    let outcome: unknown[] | undefined;
    app.websocket("/empty", async (socket) => {
      const info = await socket.closed;
      let iterations = 0;
      for await (const _ of socket) iterations++;
      outcome = [info.code, await socket.receive(), await socket.receiveJson(), iterations];
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/empty");
    await ws.close(4002);
    await waitFor(() => outcome !== undefined, "the handler's reads");
    assert.deepEqual(outcome, [4002, undefined, undefined, 0]);
  });

  test("many sockets on one route (listeners shared by all): each hears only its own messages and its own close", async () => {
    const app = quietApp();
    const closes = new Map<string, CloseInfo>();
    app.websocket("/many", async (socket) => {
      const who = String(socket.request.query.get("who"));
      socket.closed.then((info) => closes.set(who, info));
      for await (const message of socket) await socket.send(`${who}:${message}`);
    });
    await using client = await TestClient.start(app);
    const count = 20;
    const sockets = await Promise.all(
      Array.from({ length: count }, (_, i) => client.websocketConnect(`/many?who=${i}`)),
    );
    await Promise.all(sockets.map((ws, i) => ws.send(`hello ${i}`)));
    const echoes = await Promise.all(sockets.map((ws) => within(ws.receive(), "an echo")));
    assert.deepEqual(
      echoes,
      sockets.map((_, i) => `${i}:hello ${i}`),
    );
    await Promise.all(sockets.map((ws, i) => ws.close(4000 + i, `bye ${i}`)));
    await waitFor(() => closes.size === count, "every socket's closed");
    for (let i = 0; i < count; i++) {
      assert.deepEqual(closes.get(String(i)), { code: 4000 + i, reason: `bye ${i}` });
    }
    await waitFor(() => app.connections.websocket === 0, "no socket counted as open");
  });

  test("a handler that is not async: returning closes with 1000, throwing closes with 1011 and is logged", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/sync-return", (socket) => {
      socket.send("hi");
    });
    app.websocket("/sync-throw", () => {
      throw new Error("sync explosion");
    });
    await using client = await TestClient.start(app);
    const returned = await client.websocketConnect("/sync-return");
    assert.equal(await returned.receive(), "hi");
    assert.equal((await within(returned.closed, "the 1000 close")).code, 1000);
    const thrown = await client.websocketConnect("/sync-throw");
    assert.equal((await within(thrown.closed, "the 1011 close")).code, 1011);
    assert.ok(lines.some((line) => line.err?.message === "sync explosion" && line.level === 50));
  });

  test("app.close() waits for a handler whose finally still runs after its socket closed", async () => {
    const app = quietApp();
    let finallyDone = false;
    app.websocket("/slow-finally", async (socket) => {
      try {
        await socket.closed;
      } finally {
        await sleep(200);
        finallyDone = true;
      }
    });
    const client = await TestClient.start(app);
    await client.websocketConnect("/slow-finally");
    await waitFor(() => app.connections.websocket === 1, "the socket to count");
    await app.close({ timeout: 3000 });
    assert.ok(finallyDone, "close() resolved only after the handler's finally");
    await client.close();
  });
});

describe("idle WebSockets: one heartbeat timer per interval", () => {
  test("every socket gets pinged, a dead peer among them is dropped, and the timer goes with the last socket", async () => {
    const interval = 137; // an interval no other timer here uses
    const created: unknown[] = [];
    const cleared: unknown[] = [];
    const { setInterval: realSet, clearInterval: realClear } = globalThis;
    globalThis.setInterval = ((callback: () => void, ms: number) => {
      const timer = realSet(callback, ms);
      if (ms === interval) created.push(timer);
      return timer;
    }) as typeof setInterval;
    globalThis.clearInterval = ((timer: Parameters<typeof clearInterval>[0]) => {
      if (created.includes(timer)) cleared.push(timer);
      realClear(timer);
    }) as typeof clearInterval;
    try {
      const app = quietApp();
      app.websocket("/beat", { heartbeat: interval }, (socket) => socket.closed);
      await using client = await TestClient.start(app);
      const live = await Promise.all(
        Array.from({ length: 8 }, () => client.websocketConnect("/beat")),
      );
      const pings = live.map(() => 0);
      for (const [i, ws] of live.entries()) ws.raw.on("ping", () => pings[i]++);
      const dead = await client.websocketConnect("/beat", { answerPings: false });
      assert.equal((await within(dead.closed, "the dead peer's drop")).code, 1006);
      await waitFor(() => pings.every((count) => count >= 3), "three pings on every socket");
      assert.equal(created.length, 1, "one timer for all nine sockets");
      assert.equal(cleared.length, 0, "still running while sockets are open");
      assert.ok(
        live.every((ws) => ws.raw.readyState === 1),
        "the live peers stay",
      );
      await Promise.all(live.map((ws) => ws.close()));
      await waitFor(() => cleared.length === 1, "the timer to stop once no socket is left");
      const again = await client.websocketConnect("/beat");
      let pinged = false;
      again.raw.on("ping", () => {
        pinged = true;
      });
      await waitFor(() => pinged, "a ping on a socket opened after the timer stopped");
      assert.equal(created.length, 2, "a new timer for the new socket");
      await again.close();
      await waitFor(() => cleared.length === 2, "that timer to stop too");
    } finally {
      globalThis.setInterval = realSet;
      globalThis.clearInterval = realClear;
    }
  });
});
