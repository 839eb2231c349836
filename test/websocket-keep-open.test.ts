// `return socket.keepOpen()`: a handler that leaves its socket open once it has returned, for
// sockets that only follow topics. The socket keeps receiving, closes when either side closes
// it or on shutdown, and holds no handler meanwhile (the heap bound is in
// test/websocket-idle-memory.test.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CloseCode, type SluiceWebSocket } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { waitFor } from "./support/wait.js";

describe("socket.keepOpen()", () => {
  test("an async handler that returns it leaves the socket open, following its topic", async () => {
    const app = quietApp();
    let returned = false;
    app.websocket("/news", async (socket) => {
      await socket.subscribe("news");
      returned = true;
      return socket.keepOpen();
    });
    await using client = await TestClient.start(app);
    const socket = await client.websocketConnect("/news");
    await waitFor(() => returned && app.topicSubscribers === 1, "the handler to return");
    await app.publish("news", "after the handler returned");
    assert.equal(
      (await socket.receiveJson<{ data: unknown }>())?.data,
      "after the handler returned",
    );
    assert.equal(app.connections.websocket, 1);
    await socket.close(1000, "bye");
    await waitFor(
      () => app.connections.websocket === 0 && app.topicSubscribers === 0,
      "the socket and its subscription to be gone",
    );
  });

  test("a sync handler may return it too; socket.closed still tells when the peer leaves", async () => {
    const app = quietApp();
    const closes: number[] = [];
    app.websocket("/sync", (socket) => {
      socket.closed.then((info) => closes.push(info.code));
      void socket.subscribe("ticks");
      return socket.keepOpen();
    });
    await using client = await TestClient.start(app);
    const socket = await client.websocketConnect("/sync");
    await waitFor(() => app.topicSubscribers === 1, "the subscription");
    await app.publish("ticks", 1);
    assert.equal((await socket.receiveJson<{ data: unknown }>())?.data, 1);
    socket.raw.terminate();
    await waitFor(() => closes.length === 1, "socket.closed to settle");
    assert.equal(closes[0], 1006);
  });

  test("the server may still close it, and app.close() sends it 1001 without waiting", async () => {
    const app = quietApp();
    const open = new Set<SluiceWebSocket>();
    app.websocket("/ws", (socket) => {
      open.add(socket);
      return socket.keepOpen();
    });
    const client = await TestClient.start(app);
    const first = await client.websocketConnect("/ws");
    const second = await client.websocketConnect("/ws");
    await waitFor(() => open.size === 2, "both sockets");
    const [one] = open;
    one.close(4000, "done with you");
    assert.deepEqual(await first.closed, { code: 4000, reason: "done with you" });
    const started = performance.now();
    await app.close();
    assert.equal((await second.closed).code, CloseCode.goingAway);
    assert.ok(performance.now() - started < 2000, "no handler to wait for");
    await client.close();
  });

  test("nothing reads a kept-open socket: a peer that sends past 1 MiB is paused, then closed with 1013", async () => {
    const app = quietApp();
    const heartbeat = 300; // also how long an unread peer may stay paused
    app.websocket("/ws", { heartbeat }, (socket) => socket.keepOpen());
    await using client = await TestClient.start(app);
    const socket = await client.websocketConnect("/ws", { compression: false });
    const chunk = "m".repeat(16 * 1024);
    // 2 MiB: past the 1 MiB the inbox holds before it stops reading the peer.
    for (let i = 0; i < 128; i++) socket.raw.send(chunk);
    const closed = await Promise.race([
      socket.closed,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
    ]);
    assert.ok(closed, "closed within 5 s");
    assert.equal(closed.code, CloseCode.tryAgainLater);
    assert.match(closed.reason, /not read in time/);
    await waitFor(() => app.connections.websocket === 0, "the socket to be gone");
  });

  test("a handler that returns anything else still closes its socket with 1000", async () => {
    const app = quietApp();
    app.websocket("/ws", (socket) => ({ keepOpen: true, not: socket.id }));
    await using client = await TestClient.start(app);
    const socket = await client.websocketConnect("/ws");
    assert.equal((await socket.closed).code, 1000, "a look-alike object is not keepOpen()");
  });
});
