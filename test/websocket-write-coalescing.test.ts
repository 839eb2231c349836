// How many times a socket's frames reach the transport: the sends of one event-loop turn
// leave together (one writev), and a socket fed in bursts has each later burst leave in one
// write from its first frame on, while a lone send still goes out at once. Counted on the
// server's own TCP socket (its _write and _writev: one system call each), with a real client.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type SluiceWebSocket, WebSocketMessage } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { countWrites } from "./support/count-writes.js";
import { waitFor } from "./support/wait.js";

async function serverSocket(): Promise<{
  socket: SluiceWebSocket;
  counter: { writes: number };
  client: TestClient;
  receive: (count: number) => Promise<unknown[]>;
}> {
  const app = quietApp();
  let server: { socket: SluiceWebSocket; counter: { writes: number } } | undefined;
  app.websocket("/ws", (socket) => {
    server = { socket, counter: countWrites(socket.request.raw.socket as Socket) };
    return socket.keepOpen();
  });
  const client = await TestClient.start(app);
  const peer = await client.websocketConnect("/ws");
  await waitFor(() => server !== undefined, "the server's socket");
  const receive = async (count: number) => {
    const got: unknown[] = [];
    while (got.length < count) got.push(await peer.receiveJson());
    return got;
  };
  return { ...server!, client, receive };
}

describe("WebSocket writes are coalesced per turn", () => {
  test("bursts of ten: the first leaves in at most two writes, each later one in one", async () => {
    const { socket, counter, client, receive } = await serverSocket();
    await using _ = client;
    const perBurst: number[] = [];
    for (let burst = 0; burst < 4; burst++) {
      const before = counter.writes;
      for (let i = 0; i < 10; i++) socket.send(WebSocketMessage.json({ burst, i }));
      const got = await receive(10);
      assert.deepEqual(got.at(-1), { burst, i: 9 });
      perBurst.push(counter.writes - before);
      await sleep(5); // the next burst comes in a later turn
    }
    assert.ok(perBurst[0] <= 2, `first burst: ${perBurst[0]} writes`);
    assert.deepEqual(perBurst.slice(1), [1, 1, 1], `writes per burst: ${perBurst}`);
  });

  test("lone sends each go out at once, also after a burst has been and gone", async () => {
    const { socket, counter, client, receive } = await serverSocket();
    await using _ = client;
    for (let i = 0; i < 3; i++) socket.send({ burst: i });
    await receive(3);
    await sleep(5);
    // The turn after a burst is corked from its first frame (and still sent at the turn's
    // end); after a lone send, the next lone send is written straight away.
    socket.send({ lone: 1 });
    await receive(1);
    await sleep(5);
    const before = counter.writes;
    socket.send({ lone: 2 });
    assert.equal(counter.writes - before, 1, "written during send(), not at the turn's end");
    assert.deepEqual(await receive(1), [{ lone: 2 }]);
  });
});
