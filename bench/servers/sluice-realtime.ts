import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { publishSchedule, type Schedule } from "./sse-events.js";
import { BROADCAST_TOPIC, broadcastData } from "./ws-messages.js";

/*
 * Scenario (g) for the real-time endpoint: the WebSocket fan-out of (b) through
 * `app.realtime()` (docs/protocol.md), published as sluice-topics.ts publishes it,
 * `app.publish()` into the default memory broker's log and out to the topic's subscribers.
 * Here the clients subscribe themselves: each offers the subprotocol `sluice.v1` and sends
 * `{"type":"subscribe","ref":1,"topic":"bench-ws"}`, which the endpoint's `subscribe` rule
 * allows; each message reaches them as a message frame around the published data.
 *
 * Like topics, the endpoint has no producer-side backpressure, so this server publishes at a
 * rate only: `?rate=0` (as fast as delivered) is refused.
 */
type Sluice = typeof import("../../src/index.js");

// The same switch as sluice.ts: BENCH_SLUICE_DIST=1 loads the tsc build (dist/).
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App, HttpError } = (await import(entry)) as Sluice;

const app = new App({ logger: false }); // default: memoryBroker({ history: 1000 })

/** app.publish() rejects only when the broker is closed or the data is not JSON. */
function publishFailed(error: unknown): void {
  console.error("sluice realtime: publish failed:", error);
}

/** The producer's schedule from the query; as fast as delivered is not served (see above). */
function atRate(query: URLSearchParams): Schedule {
  const schedule = publishSchedule(query);
  if (schedule.rate === 0) {
    throw new HttpError(400, "this server publishes at a rate only: pass ?rate= above 0");
  }
  return schedule;
}

// sluice.ts's slow-consumer limit (maxBuffered), far above what a run at a fixed rate queues.
app.realtime("/ws/broadcast", { subscribe: [BROADCAST_TOPIC], maxBuffered: 64 * 1024 * 1024 });
// Every open WebSocket is a real-time client: a load client counts as connected once its
// subscribe was answered (the subscription is live by then), so the open sockets are the
// subscribers the producer publishes to.
app.get("/ws/clients", () => ({
  clients: app.connections.websocket,
  open: app.connections.websocket,
}));
// The data is an object: the message frame carries its JSON as `data`.
const producer = new Producer((seq) => {
  app.publish(BROADCAST_TOPIC, broadcastData(seq)).catch(publishFailed);
  return undefined;
});
app.post("/ws/start", (request) => producer.start(atRate(request.query)));
app.post("/ws/stop", () => ({ published: producer.stop() }));

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
