/*
 * The serving process dies: a Node client (`sluice/client` with `ws`) follows three topics
 * and publishes to a fourth through `app.realtime()` on one process of a real Redis-backed
 * deployment; that process is SIGKILLed mid-stream (twice: the replacement is killed too),
 * and another starts on the same port. The client must come back by itself, and every
 * topic's messages must arrive exactly once and in order, across both failovers. Its own
 * publishes, in flight when the process died or queued while it was down, must each be
 * stored exactly once and resolve.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, test } from "node:test";
import WebSocket from "ws";
import { connect, type Realtime } from "../src/client/index.js";
import { App } from "../src/index.js";
import { redisBroker } from "../src/redis/index.js";
import { startExample } from "./support/example-process.js";
import { portOf } from "./support/raw-http.js";
import { RedisServer } from "./support/redis-server.js";
import { sleep, waitFor } from "./support/wait.js";

const FIXTURE = "test/fixtures/realtime-server.ts";
const PREFIX = "failover:";
const FEEDS = ["feed:a", "feed:b", "feed:c"];
const MINE = "feed:mine";
const PUBLISH_EVERY_MS = 3;
const CLIENT_PUBLISH_EVERY_MS = 10;

const redis = await RedisServer.start();
after(() => redis.stop());

interface Received {
  topic: string;
  id: string;
  data: { seq: number };
}

test("SIGKILL of the serving process, twice: every message once, in order; own publishes stored once", async (t) => {
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: PREFIX };
  const first = await startExample(t, FIXTURE, { ...env, INSTANCE: "a" });
  const port = portOf(first.url);

  // The backend's own publisher: another App on the same Redis, publishing without pause.
  const publisher = new App({
    logger: false,
    broker: redisBroker({ url: redis.url, prefix: PREFIX }),
  });
  t.after(() => publisher.close());
  const client: Realtime = connect(`ws://127.0.0.1:${port}/rt`, {
    WebSocket: WebSocket as never,
    reconnect: { initialDelay: 50, maxDelay: 400 },
    offlineQueue: 10_000, // the test publishes every 10 ms through seconds of downtime
  });
  t.after(() => client.close());
  const received = new Map<string, Received[]>(FEEDS.map((topic) => [topic, []]));
  const subscriptions = FEEDS.map((topic) =>
    client.subscribe(topic, {}, (message) => {
      received.get(topic)?.push(message as Received);
    }),
  );
  await Promise.all(subscriptions.map((sub) => sub.ready));
  // Published from now on: every one of them must reach the client.
  const published = new Map(FEEDS.map((topic) => [topic, 0]));
  let publishing = true;
  const publishLoop = (async () => {
    while (publishing) {
      for (const topic of FEEDS) {
        const seq = published.get(topic) ?? 0;
        await publisher.publish(topic, { seq });
        published.set(topic, seq + 1);
      }
      await sleep(PUBLISH_EVERY_MS);
    }
  })();

  const states: string[] = [];
  client.on("state", (state) => states.push(state));

  // The client's own publishes: fired one after another, never awaited in the loop.
  const mine: Promise<string>[] = [];
  let sending = true;
  const sendLoop = (async () => {
    while (sending) {
      mine.push(client.publish(MINE, { seq: mine.length }));
      await sleep(CLIENT_PUBLISH_EVERY_MS);
    }
  })();

  let instance: { child: ChildProcess } = first;
  for (const name of ["b", "c"]) {
    const before = received.get("feed:c")?.length ?? 0;
    const arrived = () => (received.get("feed:c")?.length ?? 0) > before + 50;
    await waitFor(arrived, "messages before the kill", 10_000);
    instance.child.kill("SIGKILL");
    await waitFor(() => client.state === "reconnecting", "the client to notice", 10_000);
    await sleep(300); // down for a while: publishes pile up in the log and the offline queue
    instance = await startExample(t, FIXTURE, { ...env, PORT: String(port), INSTANCE: name });
    await waitFor(() => client.state === "open", "the client to come back", 15_000);
  }

  await sleep(200);
  sending = false;
  await sendLoop;
  publishing = false;
  await publishLoop;
  const ids = await Promise.all(mine);

  for (const topic of FEEDS) {
    const total = published.get(topic) ?? 0;
    await waitFor(() => (received.get(topic)?.length ?? 0) >= total, `${topic}`, 15_000).catch(
      () => {},
    );
    const seqs = (received.get(topic) ?? []).map((message) => message.data.seq);
    assert.deepEqual(
      summarise(seqs),
      summarise(Array.from({ length: total }, (_, i) => i)),
      `${topic}: every message once, in order`,
    );
  }
  assert.ok(states.filter((state) => state === "reconnecting").length >= 2, states.join(","));

  // Each of the client's publishes stored once, under the id its promise resolved.
  const history = await publisher.history(MINE, { limit: 100_000 });
  const storedSeqs = history.map((message) => (message.data as { seq: number }).seq);
  assert.deepEqual(
    storedSeqs,
    Array.from({ length: mine.length }, (_, i) => i),
    "each own publish stored exactly once, in order",
  );
  assert.deepEqual(
    history.map((message) => message.id),
    ids,
  );
});

/** Runs of consecutive numbers ("0-41, 45-90"): a gap or a repeat shows at a glance. */
function summarise(seqs: number[]): string {
  const runs: string[] = [];
  let start = seqs[0];
  for (let i = 1; i <= seqs.length; i++) {
    if (seqs[i] === (seqs[i - 1] as number) + 1) continue;
    runs.push(start === seqs[i - 1] ? `${start}` : `${start}-${seqs[i - 1]}`);
    start = seqs[i];
  }
  return runs.join(", ");
}
