import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { publishSchedule, type Schedule, sseData } from "./sse-events.js";
import { broadcastData } from "./ws-messages.js";

/*
 * Scenario (g): the SSE and WebSocket fan-outs of (a) and (b), the same routes as sluice.ts,
 * but every message goes through sluice's topics: `app.publish()` stores it in the default
 * memory broker's log and fans it out to the topic's local subscribers, SSE streams made by
 * `app.subscribe()` and WebSockets that called `socket.subscribe()`. One topic per route
 * family, so an SSE subscriber never gets the WebSocket producer's messages.
 *
 * Topics have no producer-side backpressure (a live feed does not wait for its slowest
 * reader: a subscriber that falls behind is cut off and resumes from its last id), so this
 * server publishes at a rate only: `?rate=0` (as fast as delivered) is refused.
 *
 * BENCH_TOPIC_SCHEMA=zod (the column "sluice topics zod"): the same server with each topic's
 * data declared, `app.topic(name, { schema })` with the zod schemas of message-schemas.ts, so
 * every `app.publish()` validates its data once before it is stored and fanned out.
 */
type Sluice = typeof import("../../src/index.js");

// The same switch as sluice.ts: BENCH_SLUICE_DIST=1 loads the tsc build (dist/).
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App, HttpError, ValidationError } = (await import(entry)) as Sluice;

const SSE_TOPIC = "bench-sse";
const WS_TOPIC = "bench-ws";
/**
 * What may wait for one SSE subscriber before it is cut off as slow: far above anything a
 * run at a fixed rate queues, so no client is dropped during a run.
 */
const MAX_QUEUED = 100_000;

// BENCH_REDIS_URL: the instances of bench/redis-fanout.ts share a Redis broker (same history).
const redisUrl = process.env.BENCH_REDIS_URL;
const broker = redisUrl ? await redisBrokerAt(redisUrl) : undefined;
const app = new App({ logger: false, broker }); // default: memoryBroker({ history: 1000 })
if (process.env.BENCH_TOPIC_SCHEMA === "zod") await declareTopicSchemas();

async function redisBrokerAt(url: string) {
  const redisEntry =
    process.env.BENCH_SLUICE_DIST === "1"
      ? "../../dist/redis/index.js"
      : "../../src/redis/index.js";
  const { redisBroker } = (await import(redisEntry)) as typeof import("../../src/redis/index.js");
  return redisBroker({ url, history: 1000 });
}

/** Declares the topics' zod schemas; fails to start unless a publish that breaks one is refused. */
async function declareTopicSchemas(): Promise<void> {
  // Imported here: the plain server does not load zod at all.
  const { broadcastDataSchema, sseDataSchema } = await import("./message-schemas.js");
  app.topic(SSE_TOPIC, { schema: sseDataSchema });
  app.topic(WS_TOPIC, { schema: broadcastDataSchema });
  const refusal = await app.publish(WS_TOPIC, { seq: -1 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(refusal instanceof ValidationError)) {
    throw new Error(`sluice topics zod: an invalid publish was not refused (${String(refusal)})`);
  }
}

/** app.publish() rejects only on a closed broker, data that is not JSON or breaks its schema. */
function publishFailed(error: unknown): void {
  console.error("sluice topics: publish failed:", error);
}

/** The producers' schedule from the query; as fast as delivered is not served (see above). */
function atRate(query: URLSearchParams): Schedule {
  const schedule = publishSchedule(query);
  if (schedule.rate === 0) {
    throw new HttpError(400, "this server publishes at a rate only: pass ?rate= above 0");
  }
  return schedule;
}

// SSE: every client iterates its own subscription; the data is a string, so the `data:` line
// carries the same bytes as every other server's (the ids are the broker's "<epoch>-<n>").
app.sse("/sse", { keepAlive: 15_000 }, (request) =>
  app.subscribe(SSE_TOPIC, { signal: request.signal, maxQueued: MAX_QUEUED }),
);
// Counted once the head is out, when the subscription (attached as it is made) is live.
app.get("/sse/clients", () => ({ clients: app.connections.sse }));
const sseProducer = new Producer((seq) => {
  // Nothing to wait for: the memory broker delivers before publish() returns, and Redis
  // keeps the order of the commands of one connection.
  app.publish(SSE_TOPIC, sseData(seq)).catch(publishFailed);
  return undefined;
});
app.post("/sse/start", (request) => sseProducer.start(atRate(request.query)));
app.post("/sse/stop", () => ({ published: sseProducer.stop() }));

// WebSocket: sluice.ts's slow-consumer limit (maxBuffered), far above what a run queues.
const wsOptions = { maxBuffered: 64 * 1024 * 1024 };
/** Sockets whose subscription is live: the clients the producer publishes to. */
let subscribed = 0;
// A socket that only follows a topic needs no handler waiting on it: the README's
// `return socket.keepOpen()` after `socket.subscribe()`, counted down through socket.closed.
app.websocket("/ws/broadcast", wsOptions, async (socket) => {
  await socket.subscribe(WS_TOPIC);
  subscribed++;
  socket.closed.then(() => subscribed--);
  return socket.keepOpen();
});
app.get("/ws/clients", () => ({ clients: subscribed, open: app.connections.websocket }));
// The data is an object: the envelope `{"topic","id","event","data":…}` splices its JSON in.
const wsProducer = new Producer((seq) => {
  app.publish(WS_TOPIC, broadcastData(seq)).catch(publishFailed);
  return undefined;
});
app.post("/ws/start", (request) => wsProducer.start(atRate(request.query)));
app.post("/ws/stop", () => ({ published: wsProducer.stop() }));

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
