import { Broadcaster } from "./broadcaster.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { asyncRows, jsonPayload, rowCount, syncRows } from "./rows.js";
import { publishSchedule, sseData } from "./sse-events.js";
import { broadcastData, MAX_BUFFERED_BYTES, whileBehind } from "./ws-messages.js";

type Sluice = typeof import("../../src/index.js");

// BENCH_SLUICE_DIST=1 (bench/run.ts --dist) loads the tsc build (`npm run build`) instead of
// the sources through tsx, whose esbuild transform adds a __name() call per closure created.
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App, SseEvent, WebSocketMessage, ndjson } = (await import(entry)) as Sluice;

const app = new App({ logger: false });

app.get("/json", () => jsonPayload());
app.get("/ndjson/sync", (request) => ndjson(syncRows(rowCount(request.query))));
app.get("/ndjson/async", (request) => ndjson(asyncRows(rowCount(request.query))));

// One SseEvent per published event, handed to every client: encoded once, not per client.
const events = new Broadcaster<InstanceType<Sluice["SseEvent"]>>();
const producer = new Producer((seq) =>
  events.publish(new SseEvent({ id: seq, data: sseData(seq) })),
);
app.sse("/sse", { keepAlive: 15_000 }, (request) => events.subscribe(request.signal));
app.get("/sse/clients", () => ({ clients: events.size }));
app.post("/sse/start", (request) => producer.start(publishSchedule(request.query)));
app.post("/sse/stop", () => ({ published: producer.stop() }));

// WebSocket: defaults, except a slow-consumer limit (maxBuffered) far above the 64 KiB at
// which the broadcast's producer waits, so no client is ever dropped as slow during a run.
const wsOptions = { maxBuffered: 64 * 1024 * 1024 };
app.websocket("/ws/echo", wsOptions, async (socket) => {
  for await (const message of socket) await socket.send(message);
});

// Broadcast: one WebSocketMessage per published message, sent to every socket as prepared.
type WebSocket = InstanceType<Sluice["SluiceWebSocket"]>;
const subscribers = new Set<WebSocket>();
// A socket that only receives the broadcast needs no handler waiting on it: the README's
// `return socket.keepOpen()`, with `socket.closed.then(...)` to leave the set when it closes.
app.websocket("/ws/broadcast", wsOptions, (socket) => {
  subscribers.add(socket);
  socket.closed.then(() => subscribers.delete(socket));
  return socket.keepOpen();
});
const broadcaster = new Producer((seq) => {
  const message = WebSocketMessage.json(broadcastData(seq));
  const behind: WebSocket[] = [];
  for (const socket of subscribers) {
    // Not awaited, and no .catch(): a send refused because the socket closed meanwhile is
    // already marked handled (README, "WebSockets"), so the loop needs no promise per send.
    socket.send(message);
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) behind.push(socket);
  }
  return whileBehind(behind, subscribers);
});
app.get("/ws/clients", () => ({
  clients: subscribers.size,
  open: app.connections.websocket,
}));
app.post("/ws/start", (request) => broadcaster.start(publishSchedule(request.query)));
app.post("/ws/stop", () => ({ published: broadcaster.stop() }));

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
