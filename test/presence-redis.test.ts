// Presence across processes on one Redis: a member joining on one App is listed by another
// and its joinLeave subscribers get join and leave; the members of a process killed with
// SIGKILL leave within the documented bound (not before their TTL ran out); the members of
// a 10 000-member topic are read with a bounded number of Redis commands.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { App, type SluiceWebSocket, type TopicPresenceEvent } from "../src/index.js";
import { readyForHead } from "../src/sse/head-after-ready.js";
import { useRedisBed } from "./support/redis-bed.js";
import { eventually, sleep, waitFor, within } from "./support/wait.js";

const bed = useRedisBed("presence-redis");

/** Every presence event a subscription yields, collected as they come. */
function collect(app: App, topic: string): { events: TopicPresenceEvent[]; ready: Promise<void> } {
  const subscription = app.subscribe(topic, { joinLeave: true });
  const events: TopicPresenceEvent[] = [];
  void (async () => {
    for await (const event of subscription) events.push(event as TopicPresenceEvent);
  })();
  return { events, ready: subscription[readyForHead]() };
}

/** Redis's count of calls of each command since the last CONFIG RESETSTAT. */
async function commandCalls(): Promise<Map<string, number>> {
  const info = await bed.admin.info("commandstats");
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1] as string, Number(match[2]));
  }
  return calls;
}

describe("presence across two App instances on one Redis", () => {
  test("a member joining on A is listed on B, and B's joinLeave subscribers get join, then leave when it closes", async () => {
    const prefix = bed.freshPrefix();
    const a = new App({ logger: false, broker: bed.makeBroker({ prefix }) });
    const b = new App({ logger: false, broker: bed.makeBroker({ prefix }) });
    a.websocket("/room", async (socket: SluiceWebSocket) => {
      await socket.subscribe("room", { presence: { name: "ada" } });
      await socket.send("joined");
      for await (const _ of socket);
    });
    try {
      const watched = collect(b, "room");
      await watched.ready;
      const { port } = await a.listen({ port: 0, host: "127.0.0.1" });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/room`);
      await within(once(ws, "message"), "the join");
      const onB = await b.presence("room");
      assert.equal(onB.length, 1);
      assert.deepEqual(onB[0]?.info, { name: "ada" });
      await waitFor(() => watched.events.length === 1, "the join on B");
      assert.equal(watched.events[0]?.event, "join");
      assert.deepEqual(watched.events[0]?.data, onB[0]);

      ws.close();
      await waitFor(() => watched.events.length === 2, "the leave on B");
      assert.equal(watched.events[1]?.event, "leave");
      assert.deepEqual(watched.events[1]?.data, onB[0]);
      assert.deepEqual(await b.presence("room"), []);
      assert.deepEqual(await a.presence("room"), []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("the members of a SIGKILLed instance leave within 3 × presenceRefresh, not while their TTL holds", async () => {
    const prefix = bed.freshPrefix();
    const refresh = 300;
    const survivor = new App({
      logger: false,
      broker: bed.makeBroker({ prefix, presenceRefresh: refresh }),
    });
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "fixtures/presence-instance.ts"),
        bed.server.url,
        prefix,
        String(refresh),
        "room",
        "3",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const watched = collect(survivor, "room");
      await watched.ready;
      let output = "";
      child.stdout?.on("data", (chunk) => {
        output += String(chunk);
      });
      await waitFor(() => output.includes("joined"), "the child's members", 10_000);
      assert.equal((await survivor.presence("room")).length, 3);
      // Let the child refresh once or twice, then kill it right after a refresh could run.
      await sleep(2 * refresh);
      child.kill("SIGKILL");
      const killedAt = performance.now();
      await once(child, "exit");
      // Its last refresh was less than one interval before the kill: the TTL (two
      // intervals) still holds for at least one more.
      await sleep(refresh / 2);
      assert.equal((await survivor.presence("room")).length, 3, "still listed while the TTL holds");
      assert.equal(watched.events.filter((event) => event.event === "leave").length, 0);
      await waitFor(
        () => watched.events.filter((event) => event.event === "leave").length === 3,
        "three leave events",
        4 * refresh,
      );
      const leftAfter = performance.now() - killedAt;
      assert.ok(
        leftAfter >= refresh,
        `left ${leftAfter} ms after the kill: before its TTL ran out`,
      );
      // 3 × presenceRefresh, plus slack for timers, a loaded machine and this test's polling.
      assert.ok(leftAfter <= 3 * refresh + 300, `left ${leftAfter} ms after the kill`);
      assert.deepEqual(
        watched.events
          .filter((event) => event.event === "leave")
          .map((event) => event.data.clientId)
          .sort(),
        ["doomed-0", "doomed-1", "doomed-2"],
        "one leave per member, however many sweeps",
      );
      assert.deepEqual(await survivor.presence("room"), []);
    } finally {
      child.kill("SIGKILL");
      await survivor.close();
    }
  });

  test("two instances sweeping the same dead members publish one leave each", async () => {
    const prefix = bed.freshPrefix();
    const refresh = 100;
    const dead = bed.makeBroker({ prefix, presenceRefresh: 60_000 });
    const x = new App({
      logger: false,
      broker: bed.makeBroker({ prefix, presenceRefresh: refresh }),
    });
    const y = new App({
      logger: false,
      broker: bed.makeBroker({ prefix, presenceRefresh: refresh }),
    });
    try {
      const watched = collect(x, "room");
      await watched.ready;
      const also = collect(y, "room");
      await also.ready;
      // Members joined by a broker that then never refreshes them (TTL: 2 × 60 s): their
      // expiry is pushed into the past by hand, as if their process had died long ago.
      for (let n = 0; n < 20; n++) await dead.presence?.join("room", `gone-${n}`, "null");
      await bed.admin.zadd(
        `${prefix}presence-expiry:room`,
        "XX",
        ...Array.from({ length: 20 }, (_, n) => [1, `gone-${n}`]).flat(),
      );
      await eventually(async () => (await x.presence("room")).length === 0, "the sweep");
      await sleep(3 * refresh);
      const leaves = watched.events.filter((event) => event.event === "leave");
      assert.equal(leaves.length, 20);
      assert.equal(new Set(leaves.map((event) => event.data.clientId)).size, 20);
      assert.equal(also.events.filter((event) => event.event === "leave").length, 20);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  test("the keys of an abandoned topic's presence expire by themselves", async () => {
    const prefix = bed.freshPrefix();
    const broker = bed.makeBroker({ prefix, presenceRefresh: 1000 });
    await broker.presence?.join("room", "someone", "null");
    const ttl = await bed.admin.pttl(`${prefix}presence:room`);
    assert.ok(ttl > 3000 && ttl <= 4000, `the hash's TTL is four intervals, got ${ttl}`);
    assert.ok((await bed.admin.pttl(`${prefix}presence-expiry:room`)) > 3000);
    await broker.presence?.leave("room", "someone");
    assert.equal(
      await bed.admin.exists(`${prefix}presence:room`, `${prefix}presence-expiry:room`),
      0,
    );
  });

  test("10 000 members are listed with a bounded number of Redis commands, no SCAN nor KEYS", async () => {
    const prefix = bed.freshPrefix();
    const broker = bed.makeBroker({ prefix });
    const app = new App({ logger: false, broker });
    try {
      const presence = broker.presence;
      assert.ok(presence);
      for (let start = 0; start < 10_000; start += 1000) {
        await Promise.all(
          Array.from({ length: 1000 }, (_, n) =>
            presence.join("crowd", `client-${start + n}`, JSON.stringify({ n: start + n })),
          ),
        );
      }
      await bed.admin.config("RESETSTAT");
      const members = await app.presence("crowd");
      assert.equal(members.length, 10_000);
      const calls = await commandCalls();
      calls.delete("info"); // the admin's own question
      const total = [...calls.values()].reduce((sum, count) => sum + count, 0);
      assert.ok(total <= 10, `app.presence() made ${total} commands: ${[...calls].join(" ")}`);
      assert.equal(calls.get("scan"), undefined);
      assert.equal(calls.get("keys"), undefined);
      assert.equal(calls.get("hgetall") ?? 0, 0);
    } finally {
      await app.close();
    }
  });
});
