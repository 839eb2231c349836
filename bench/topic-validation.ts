import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { z } from "zod";
import { App } from "../src/index.js";

/*
 * What a topic schema costs (issue 21): the same app with and without `app.topic()` declaring
 * a zod schema, in one run, rounds alternated so that warm-up and noise fall on both alike.
 *
 * - publish: `app.publish()` of a small chat message on the memory broker, no subscriber:
 *   the validation against everything else a publish does (checks, JSON, the log).
 * - fan-out: the same publishes delivered to 200 WebSocket subscribers (`socket.subscribe`),
 *   timed until every client has every message: the schema runs once per publish, never per
 *   subscriber, so its share shrinks as subscribers grow.
 *
 *   npx tsx bench/topic-validation.ts [--quick]
 */

const quick = process.argv.includes("--quick");
const PUBLISHES = quick ? 2_000 : 20_000;
const FANOUT_PUBLISHES = quick ? 200 : 1_000;
const SUBSCRIBERS = 200;
const ROUNDS = quick ? 3 : 7;

const schema = z.object({
  user: z.string().min(1).max(64),
  text: z.string().max(500),
  sentAt: z.number().int(),
});
const message = { user: "ada", text: "hello, world", sentAt: 1_733_000_000_000 };

function makeApp(validated: boolean): App {
  const app = new App({ logger: false });
  return validated ? app.topic("chat:*", { schema }) : app;
}

async function publishRound(validated: boolean): Promise<number> {
  const app = makeApp(validated);
  const started = performance.now();
  for (let i = 0; i < PUBLISHES; i++) await app.publish("chat:lobby", message);
  const elapsed = performance.now() - started;
  await app.close();
  return (elapsed * 1e6) / PUBLISHES;
}

async function fanOutRound(validated: boolean): Promise<number> {
  const app = makeApp(validated);
  app.websocket("/ws", async (socket) => {
    await socket.subscribe("chat:lobby");
    await socket.send("ready");
    for await (const _ of socket);
  });
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  let received = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const clients = await Promise.all(
    Array.from(
      { length: SUBSCRIBERS },
      () =>
        new Promise<WebSocket>((resolve) => {
          const ws = new WebSocket(`${url.replace("http", "ws")}/ws`);
          ws.on("message", (data) => {
            if (String(data) === "ready") return resolve(ws);
            if (++received === SUBSCRIBERS * FANOUT_PUBLISHES) done();
          });
        }),
    ),
  );
  const started = performance.now();
  for (let i = 0; i < FANOUT_PUBLISHES; i++) await app.publish("chat:lobby", message);
  await all;
  const elapsed = performance.now() - started;
  for (const ws of clients) ws.close();
  await app.close();
  return (elapsed * 1e6) / FANOUT_PUBLISHES;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function compare(name: string, round: (validated: boolean) => Promise<number>) {
  const plain: number[] = [];
  const validated: number[] = [];
  await round(false);
  await round(true);
  for (let i = 0; i < ROUNDS; i++) {
    // Alternated, and the order flipped every round.
    if (i % 2 === 0) {
      plain.push(await round(false));
      validated.push(await round(true));
    } else {
      validated.push(await round(true));
      plain.push(await round(false));
    }
  }
  const without = median(plain);
  const withSchema = median(validated);
  console.log(
    `${name}: ${Math.round(without)} ns/publish without a schema, ${Math.round(withSchema)} ns with zod (${((withSchema / without - 1) * 100).toFixed(1)} %, median of ${ROUNDS})`,
  );
}

await compare("publish, no subscriber", publishRound);
await compare(`fan-out to ${SUBSCRIBERS} WebSocket subscribers`, fanOutRound);
