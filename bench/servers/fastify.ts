import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { fastifySSE, type SSEMessage } from "@fastify/sse";
import fastifyWebsocket from "@fastify/websocket";
import Fastify from "fastify";
import type { WebSocket } from "ws";
import { Broadcaster } from "./broadcaster.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { jsonPayload, makeRow, rowCount } from "./rows.js";
import { publishSchedule, sseData } from "./sse-events.js";
import { broadcastData, MAX_BUFFERED_BYTES, whileBehind } from "./ws-messages.js";

/**
 * The Fastify peer, as its docs show: routes returning values, a Readable for a stream,
 * @fastify/sse for Server-Sent Events and @fastify/websocket (on `ws`) for WebSockets.
 */
const app = Fastify({ logger: false });
// The docs' "Custom Serialization": the event data is already a JSON string, sent as is
// (the default serializer, JSON.stringify, would quote it again).
await app.register(fastifySSE, {
  serializer: (data) => (typeof data === "string" ? data : JSON.stringify(data)),
});
await app.register(fastifyWebsocket, { options: { perMessageDeflate: false } });

app.get("/json", async () => jsonPayload());

/** The routes that read a query string (?rows=, ?rate=&burst=). */
type Query = { Querystring: Record<string, string> };

app.get<Query>("/ndjson", (request, reply) => {
  const count = rowCount(new URLSearchParams(request.query));
  reply.type("application/x-ndjson; charset=utf-8").send(Readable.from(rowLines(count)));
});

function* rowLines(count: number): Generator<string> {
  for (let i = 0; i < count; i++) yield `${JSON.stringify(makeRow(i))}\n`;
}

// SSE: one message object per published event, handed to every client's queue; the plugin
// formats it for each client as it sends it.
const events = new Broadcaster<SSEMessage>();
const sseProducer = new Producer((seq) => events.publish({ id: String(seq), data: sseData(seq) }));

// `sse: "only"`: an SSE-only route, so a request without an Accept header is SSE too.
app.get("/sse", { sse: "only" }, async (_request, reply) => {
  const left = new AbortController();
  const messages = events.subscribe(left.signal);
  reply.sse.onClose(() => {
    left.abort();
    // A client that leaves while its socket is full: the plugin waits for a 'drain' that never
    // comes, its generator stays parked at a yield and the queue would stay subscribed.
    void messages.return(undefined);
  });
  // The head goes out now, not with the first event: subscribers connect before anything
  // is published. sendHeaders() only sets it (node:http sends it with the first write).
  reply.sse.sendHeaders();
  reply.raw.flushHeaders();
  await reply.sse.send(messages);
});
app.get("/sse/clients", async () => ({ clients: events.size }));
app.post<Query>("/sse/start", async (request, reply) => {
  sseProducer.start(publishSchedule(new URLSearchParams(request.query)));
  return reply.code(204).send();
});
app.post("/sse/stop", async () => ({ published: sseProducer.stop() }));

// WebSocket: handlers get `ws` sockets; echo sends back what came, as it came.
app.get("/ws/echo", { websocket: true }, (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});

const subscribers = new Set<WebSocket>();
app.get("/ws/broadcast", { websocket: true }, (socket) => {
  subscribers.add(socket);
  socket.once("close", () => subscribers.delete(socket));
});
const wsProducer = new Producer(broadcast);
app.get("/ws/clients", async () => ({
  clients: subscribers.size,
  open: app.websocketServer.clients.size,
}));
app.post<Query>("/ws/start", async (request, reply) => {
  wsProducer.start(publishSchedule(new URLSearchParams(request.query)));
  return reply.code(204).send();
});
app.post("/ws/stop", async () => ({ published: wsProducer.stop() }));

/** Sends message `seq` to every subscriber; while some have too much queued, resolves once they caught up. */
function broadcast(seq: number): Promise<void> | undefined {
  const text = JSON.stringify(broadcastData(seq));
  const behind: WebSocket[] = [];
  for (const socket of subscribers) {
    socket.send(text);
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) behind.push(socket);
  }
  return whileBehind(behind, subscribers);
}

await app.listen({ port: 0, host: "127.0.0.1" });
announceReady((app.server.address() as AddressInfo).port);
