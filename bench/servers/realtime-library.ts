import { HUB_BENCH_TOPIC } from "../lib/hub-bench-topic.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { publishSchedule, type Schedule } from "./sse-events.js";
import { broadcastData } from "./ws-messages.js";

/*
 * The library side of bench/hub-fanout.ts: what a TypeScript user writes instead of running
 * `sluice hub`. The real-time endpoint on `/rt` with the options the hub gives it without JWT
 * options (anyone may subscribe, no one publishes over it), the default memory broker (as the
 * hub's: a history of 1 000), and `app.publish()` called by a timer in this process, as an
 * application publishes from its own code. Each message's data carries its publish time `t`,
 * stamped just before `app.publish()`.
 *
 *   POST /bench/start?rate=50   publishes `rate` messages/s from seq 0 (a rate is required)
 *   POST /bench/stop            stops; answers { published, failed }
 */
type Sluice = typeof import("../../src/index.js");

// The same switch as the other servers: BENCH_SLUICE_DIST=1 loads the tsc build (dist/).
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App, HttpError } = (await import(entry)) as Sluice;

const app = new App({ logger: false });
app.realtime("/rt", { subscribe: [HUB_BENCH_TOPIC], publish: [] });

let failed = 0;
function publishFailed(error: unknown): void {
  failed++;
  console.error("realtime library: publish failed:", error);
}

const producer = new Producer((seq) => {
  app.publish(HUB_BENCH_TOPIC, broadcastData(seq)).catch(publishFailed);
  return undefined;
});

/** The schedule from the query; the hub cannot publish "as fast as delivered", so neither does this. */
function atRate(query: URLSearchParams): Schedule {
  const schedule = publishSchedule(query);
  if (schedule.rate === 0) throw new HttpError(400, "pass ?rate= above 0");
  return schedule;
}

app.post("/bench/start", (request) => {
  failed = 0;
  producer.start(atRate(request.query));
});
app.post("/bench/stop", () => ({ published: producer.stop(), failed }));

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
