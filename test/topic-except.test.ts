// Issue 22, "except the sender": app.publish(topic, data, { except }) with a client id or a
// socket skips that client's subscriptions, on every instance (the except travels with the
// message on Redis), stored and live-only alike; a stored message is still stored, so a replay
// gives it to everyone. A bad except is a TypeError naming the option. Two App instances on
// one memory broker, and on one real Redis.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { WebSocket } from "ws";
import { App, type SluiceWebSocket } from "../src/index.js";
import { readyForHead } from "../src/sse/head-after-ready.js";
import { RedisServer } from "./support/redis-server.js";
import { closeAll, instancePairs, twoApps } from "./support/two-instances.js";
import { waitFor, within } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());

/** A route whose sockets follow "room", say their id, and publish what they send except themselves. */
function roomRoute(app: App): void {
  app.websocket("/room", async (socket: SluiceWebSocket) => {
    await socket.subscribe("room");
    await socket.sendJson({ id: socket.id });
    for await (const message of socket) {
      await app.publish("room", String(message), { except: socket });
    }
  });
}

interface Peer {
  readonly ws: WebSocket;
  readonly id: string;
  /** The data of the room's messages received, in order. */
  readonly got: unknown[];
}

async function peerOn(url: string): Promise<Peer> {
  const ws = new WebSocket(`${url.replace("http", "ws")}/room`);
  const got: unknown[] = [];
  let id: string | undefined;
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { id: string; data?: unknown; topic?: string };
    if (frame.topic === undefined) id = frame.id;
    else got.push(frame.data);
  });
  await waitFor(() => id !== undefined, "the socket's id", 10_000);
  return { ws, id: id as string, got };
}

for (const pair of instancePairs(redis, "topic-except")) {
  describe(`except on the ${pair.name}`, () => {
    test("by client id and by socket, across instances, stored and live-only: every other subscriber gets it", async () => {
      const [a, b] = twoApps(pair);
      roomRoute(a);
      roomRoute(b);
      try {
        const { url: urlA } = await a.listen({ port: 0, host: "127.0.0.1" });
        const { url: urlB } = await b.listen({ port: 0, host: "127.0.0.1" });
        const [p1, p2, p3] = await Promise.all([peerOn(urlB), peerOn(urlB), peerOn(urlA)]);
        const everything = a.subscribe("room");
        await everything[readyForHead]();
        const peers = [p1, p2, p3] as Peer[];

        // From instance a, except a socket of instance b, by its id.
        const stored = await a.publish("room", "not to p1", { except: p1?.id });
        assert.notEqual(stored, "", "a message with except is stored");
        // From instance b, except a socket of instance a, live-only.
        await b.publish("room", "typing, not to p3", { store: false, except: p3?.id });
        // From inside b's handler, except the sending socket itself.
        p2?.ws.send("from p2, not to p2");
        await waitFor(
          () => p1?.got.includes("from p2, not to p2") === true,
          "p2's message at p1",
          10_000,
        );
        await a.publish("room", "to all");
        await waitFor(
          () => peers.every((peer) => peer.got.at(-1) === "to all"),
          "the last message everywhere",
          10_000,
        );
        assert.deepEqual(p1?.got, ["typing, not to p3", "from p2, not to p2", "to all"]);
        assert.deepEqual(p2?.got, ["not to p1", "typing, not to p3", "to all"]);
        assert.deepEqual(p3?.got, ["not to p1", "from p2, not to p2", "to all"]);

        const all: unknown[] = [];
        for (let n = 0; n < 4; n++) {
          const step = await within(everything.next(), "the subscriber without a client id");
          all.push(step.value?.data);
        }
        assert.deepEqual(
          all,
          ["not to p1", "typing, not to p3", "from p2, not to p2", "to all"],
          "a subscriber with no client id gets everything",
        );
        everything.end();

        // Stored with except, still stored: a replay is another delivery, to everyone.
        const replay = b.subscribe("room", { replay: 10 });
        const replayed: unknown[] = [];
        for (let n = 0; n < 3; n++)
          replayed.push((await within(replay.next(), "replay")).value?.data);
        assert.deepEqual(replayed, ["not to p1", "from p2, not to p2", "to all"]);
        replay.end();
        for (const peer of peers) peer.ws.close();
      } finally {
        await closeAll([a, b]);
      }
    });
  });
}

describe("except: bad values", () => {
  test("anything but a client id or an object with one is a TypeError naming the option; nothing is published", async () => {
    const app = new App({ logger: false });
    try {
      const bad: unknown[] = [
        42,
        "",
        "a\nb",
        "x".repeat(257),
        null,
        {},
        { id: 5 },
        { id: "" },
        true,
      ];
      for (const except of bad) {
        await assert.rejects(
          app.publish("room", "x", { except: except as string }),
          (error: unknown) =>
            error instanceof TypeError &&
            /publish\(\) except must be a client id .* or a socket with one, got /.test(
              error.message,
            ),
          JSON.stringify(except),
        );
      }
      assert.deepEqual(await app.history("room"), []);
      assert.notEqual(await app.publish("room", "ok", { except: { id: "client-1" } }), "");
    } finally {
      await app.close();
    }
  });
});
