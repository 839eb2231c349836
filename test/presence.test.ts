// Presence on both brokers: sockets that subscribe with `presence` are listed by
// app.presence() until they unsubscribe or close, and subscribers that ask for join/leave
// events get them (live-only: never in history, never replayed); bad info is refused.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import WebSocket from "ws";
import {
  App,
  type Broker,
  isPresenceEvent,
  type SluiceWebSocket,
  type TopicPresenceEvent,
  type TopicSubscription,
} from "../src/index.js";
import { readyForHead } from "../src/sse/head-after-ready.js";
import { bothBrokers } from "./support/both-brokers.js";
import { RedisServer } from "./support/redis-server.js";
import { eventually, waitFor, within } from "./support/wait.js";

const redis = await RedisServer.start();
after(() => redis.stop());

/** The next event of a subscription, within a bound. */
async function nextEvent(subscription: TopicSubscription): Promise<TopicPresenceEvent> {
  const step = await within(subscription.next(), "the next event");
  assert.equal(step.done, false, "the subscription ended early");
  return step.value as TopicPresenceEvent;
}

/**
 * An App whose WebSocket route `/room/:name?user=` subscribes to the room with the user as
 * its presence info (as an app would take it from its auth principal).
 */
async function roomApp(broker: Broker): Promise<{ app: App; url: string }> {
  const app = new App({ logger: false, broker });
  app.websocket("/room/:name", async (socket: SluiceWebSocket) => {
    const user = new URL(socket.request.url, "http://x").searchParams.get("user");
    await socket.subscribe(`room:${socket.request.params.name}`, {
      presence: { user },
      joinLeave: true,
    });
    await socket.send(JSON.stringify({ joined: true }));
    for await (const message of socket) {
      if (message === "leave") socket.unsubscribe(`room:${socket.request.params.name}`);
    }
  });
  const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, url: `ws://127.0.0.1:${port}` };
}

/** A WebSocket that has joined the room (a frame says so); every frame it got kept. */
async function joinRoom(url: string): Promise<{ ws: WebSocket; frames: unknown[] }> {
  const ws = new WebSocket(url);
  const frames: unknown[] = [];
  ws.on("message", (data) => frames.push(JSON.parse(String(data))));
  await waitFor(
    () => frames.some((frame) => (frame as { joined?: boolean }).joined),
    "the joined frame",
  );
  return { ws, frames };
}

for (const { name, make } of bothBrokers(redis, "presence")) {
  describe(`presence on the ${name}`, () => {
    test("a socket subscribed with presence is listed until it unsubscribes; joinLeave subscribers get join then leave", async () => {
      const { app, url } = await roomApp(make());
      try {
        const watcher = app.subscribe("room:a", { joinLeave: true });
        const plain = app.subscribe("room:a");
        await watcher[readyForHead]();
        await plain[readyForHead]();
        const ada = await joinRoom(`${url}/room/a?user=ada`);
        const joined = await nextEvent(watcher);
        assert.ok(isPresenceEvent(joined));
        assert.equal(joined.event, "join");
        assert.equal(joined.id, undefined, "a presence event has no id");
        assert.deepEqual(joined.data.info, { user: "ada" });
        const members = await app.presence("room:a");
        assert.equal(members.length, 1);
        assert.deepEqual(members[0], joined.data);
        assert.ok(Math.abs((members[0]?.since ?? 0) - Date.now()) < 5000);
        // The socket sees its own join (it is live before it joins).
        // On Redis the event comes back over pub/sub: maybe after the subscribe resolved.
        await waitFor(() => ada.frames.length === 2, "the socket's own join frame");
        assert.deepEqual(
          ada.frames.find((frame) => (frame as { event?: string }).event),
          {
            topic: "room:a",
            id: "",
            event: "join",
            data: joined.data,
          },
        );

        ada.ws.send("leave");
        const left = await nextEvent(watcher);
        assert.equal(left.event, "leave");
        assert.deepEqual(left.data, joined.data);
        assert.deepEqual(await app.presence("room:a"), []);

        // Presence events are live-only: not stored, not seen by subscribers that did not ask.
        assert.deepEqual(await app.history("room:a"), []);
        await app.publish("room:a", "after");
        const step = await within(plain.next(), "the plain subscriber's first event");
        assert.equal(step.value?.data, "after", "the plain subscriber got no presence event");
        ada.ws.close();
      } finally {
        await app.close();
      }
    });

    test("a socket that closes leaves; two tabs of one user are two members, grouped by info", async () => {
      const { app, url } = await roomApp(make());
      try {
        const watcher = app.subscribe("room:b", { joinLeave: true });
        await watcher[readyForHead]();
        const tab1 = await joinRoom(`${url}/room/b?user=ada`);
        const tab2 = await joinRoom(`${url}/room/b?user=ada`);
        const bob = await joinRoom(`${url}/room/b?user=bob`);
        const members = await app.presence("room:b");
        assert.equal(members.length, 3);
        assert.equal(new Set(members.map((member) => member.clientId)).size, 3);
        // Object.groupBy (Node 21+) does this too.
        const byUser = new Map<string, number>();
        for (const { info } of members) {
          const { user } = info as { user: string };
          byUser.set(user, (byUser.get(user) ?? 0) + 1);
        }
        assert.deepEqual(Object.fromEntries(byUser), { ada: 2, bob: 1 });
        for (let n = 0; n < 3; n++) assert.equal((await nextEvent(watcher)).event, "join");

        tab1.ws.close();
        const left = await nextEvent(watcher);
        assert.equal(left.event, "leave");
        assert.deepEqual(left.data.info, { user: "ada" });
        assert.equal((await app.presence("room:b")).length, 2);
        tab2.ws.terminate(); // no close handshake: the error path leaves too
        assert.equal((await nextEvent(watcher)).event, "leave");
        bob.ws.close();
        assert.equal((await nextEvent(watcher)).event, "leave");
        assert.deepEqual(await app.presence("room:b"), []);
      } finally {
        await app.close();
      }
    });

    test("closing the App makes its members leave", async () => {
      const broker = make();
      const other = new App({ logger: false, broker });
      const { app, url } = await roomApp(broker);
      try {
        const watcher = other.subscribe("room:c", { joinLeave: true });
        await watcher[readyForHead]();
        await joinRoom(`${url}/room/c?user=ada`);
        assert.equal((await nextEvent(watcher)).event, "join");
        await app.close();
        assert.equal((await nextEvent(watcher)).event, "leave");
        assert.deepEqual(await other.presence("room:c"), []);
      } finally {
        await app.close();
        await other.close();
      }
    });

    test("info too big or not JSON is a TypeError, and nothing joins", async () => {
      const app = new App({ logger: false, broker: make() });
      let refused: unknown[] = [];
      app.websocket("/bad", async (socket) => {
        const attempts = [
          { presence: { bio: "x".repeat(5000) } },
          { presence: 10n },
          { presence: () => {} },
          { joinLeave: "yes" },
        ];
        refused = await Promise.all(
          attempts.map((options) =>
            socket.subscribe("room:d", options as never).then(
              () => undefined,
              (error: unknown) => error,
            ),
          ),
        );
        socket.close(1000);
      });
      const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
      try {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/bad`);
        await new Promise((resolve) => ws.on("close", resolve));
        assert.equal(refused.length, 4);
        for (const error of refused) assert.ok(error instanceof TypeError, String(error));
        assert.match(String(refused[0]), /5\d{3} bytes as JSON, over the 4096 allowed/);
        assert.match(String(refused[1]), /must be a JSON value/);
        assert.match(String(refused[3]), /joinLeave must be a boolean/);
        assert.deepEqual(await app.presence("room:d"), []);
        await assert.rejects(() => app.presence(""), TypeError);
        assert.throws(() => app.subscribe("room:d", { joinLeave: 1 as never }), /joinLeave/);
      } finally {
        await app.close();
      }
    });

    test("unsubscribe during a subscribe with presence, then subscribe again: the new membership stays", async () => {
      const app = new App({ logger: false, broker: make() });
      const events: string[] = [];
      const watcher = app.subscribe("room:r", { joinLeave: true });
      void (async () => {
        for await (const event of watcher) {
          events.push(`${event.event}:${JSON.stringify((event.data as { info: unknown }).info)}`);
        }
      })();
      await watcher[readyForHead]();
      app.websocket("/ws", async (socket) => {
        const first = socket.subscribe("room:r", { presence: { v: 1 } });
        socket.unsubscribe("room:r"); // changed its mind while the first was under way
        await socket.subscribe("room:r", { presence: { v: 2 } });
        await first.catch(() => {});
        await socket.send("subscribed");
        for await (const _ of socket) {
        }
      });
      const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      try {
        await within(
          new Promise((resolve) =>
            ws.on("message", (data) => String(data) === "subscribed" && resolve(null)),
          ),
          "the subscribed frame",
        );
        await waitFor(() => events.length >= 3, "join v1, leave v1, join v2");
        const members = await app.presence("room:r");
        assert.deepEqual(
          members.map((member) => member.info),
          [{ v: 2 }],
          `listed as v2; events ${events.join(" ")}`,
        );
        assert.deepEqual(events, ['join:{"v":1}', 'leave:{"v":1}', 'join:{"v":2}']);
      } finally {
        ws.close();
        watcher.end();
        await app.close();
      }
    });

    test("10 000 members of one topic are all listed, oldest first", async () => {
      const broker = make();
      const app = new App({ logger: false, broker });
      try {
        const presence = broker.presence;
        assert.ok(presence);
        for (let start = 0; start < 10_000; start += 500) {
          await Promise.all(
            Array.from({ length: 500 }, (_, n) =>
              presence.join("crowd", `client-${start + n}`, JSON.stringify({ n: start + n })),
            ),
          );
        }
        const members = await app.presence("crowd");
        assert.equal(members.length, 10_000);
        assert.equal(new Set(members.map((member) => member.clientId)).size, 10_000);
        for (let i = 1; i < members.length; i++) {
          assert.ok((members[i - 1]?.since ?? 0) <= (members[i]?.since ?? 0), "oldest first");
        }
        await eventually(async () => (await app.presence("crowd")).length === 10_000, "stable");
      } finally {
        await app.close();
      }
    });
  });
}

describe("presence on a broker without a presence store", () => {
  test("app.presence() and socket.subscribe() with presence say so", async () => {
    const { memoryBroker } = await import("../src/index.js");
    const inner = memoryBroker();
    const bare: Broker = {
      publish: (...args) => inner.publish(...args),
      history: (...args) => inner.history(...args),
      replay: (...args) => inner.replay(...args),
      subscribe: (...args) => inner.subscribe(...args),
      compareIds: (a, b) => inner.compareIds(a, b),
      close: () => inner.close(),
    };
    const app = new App({ logger: false, broker: bare });
    try {
      await assert.rejects(() => app.presence("room"), /keeps no presence/);
      // Without presence, subscribing works as ever.
      const subscription = app.subscribe("room", { joinLeave: true });
      await subscription[readyForHead]();
      subscription.end();
    } finally {
      await app.close();
    }
  });
});

/** Type-level checks (compiled by `tsc --noEmit`, never run). */
export function presenceTypes(app: App): void {
  void app.presence("room").then((members) => {
    // @ts-expect-error info is unknown: narrow it before reading a field
    void members[0]?.info.name;
    const since: number | undefined = members[0]?.since;
    void since;
  });
  // @ts-expect-error joinLeave is a boolean
  app.subscribe("room", { joinLeave: "yes" });
  void (async () => {
    for await (const event of app.subscribe("room", { joinLeave: true })) {
      if (isPresenceEvent(event)) {
        const clientId: string = event.data.clientId;
        void clientId;
      }
    }
  })();
}
