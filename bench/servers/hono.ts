import { serve } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import { type SSEMessage, stream, streamSSE } from "hono/streaming";
import type { WSContext } from "hono/ws";
import type { WebSocket } from "ws";
import { Broadcaster } from "./broadcaster.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { jsonPayload, makeRow, rowCount } from "./rows.js";
import { publishSchedule, sseData } from "./sse-events.js";
import { broadcastData, MAX_BUFFERED_BYTES, whileBehind } from "./ws-messages.js";

/**
 * The Hono peer, as its docs show: Hono on @hono/node-server, the hono/streaming helpers
 * (stream, streamSSE) and @hono/node-ws for WebSockets (a `ws` server, which has
 * permessage-deflate off by default).
 */
const app = new Hono();
const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app });

app.get("/json", (c) => c.json(jsonPayload()));

app.get("/ndjson", (c) => {
  const count = rowCount(new URLSearchParams(c.req.query()));
  c.header("Content-Type", "application/x-ndjson; charset=utf-8");
  return stream(c, async (out) => {
    for (let i = 0; i < count && !out.aborted; i++) {
      await out.write(`${JSON.stringify(makeRow(i))}\n`);
    }
  });
});

// SSE: one message object per published event, handed to every client's queue; writeSSE
// formats it for each client as it writes it.
const events = new Broadcaster<SSEMessage>();
const sseProducer = new Producer((seq) => events.publish({ id: String(seq), data: sseData(seq) }));

app.get("/sse", (c) =>
  streamSSE(c, async (sse) => {
    const left = new AbortController();
    sse.onAbort(() => left.abort());
    for await (const message of events.subscribe(left.signal)) await sse.writeSSE(message);
  }),
);
app.get("/sse/clients", (c) => c.json({ clients: events.size }));
app.post("/sse/start", (c) => {
  sseProducer.start(publishSchedule(new URLSearchParams(c.req.query())));
  return c.body(null, 204);
});
app.post("/sse/stop", (c) => c.json({ published: sseProducer.stop() }));

// WebSocket: text arrives as a string, binary as an ArrayBuffer; each goes back as it came.
app.get(
  "/ws/echo",
  upgradeWebSocket(() => ({
    onMessage: ({ data }, ws) => {
      // node-ws never hands over a Blob (nor a SharedArrayBuffer)
      if (typeof data === "string" || data instanceof ArrayBuffer) ws.send(data);
    },
  })),
);

/** A broadcast subscriber: sent to through Hono's context, its queue read from the `ws` socket. */
class Subscriber {
  constructor(readonly ws: WSContext<WebSocket>) {}

  get bufferedAmount(): number {
    return this.ws.raw?.bufferedAmount ?? 0;
  }
}

const subscribers = new Set<Subscriber>();
app.get(
  "/ws/broadcast",
  upgradeWebSocket(() => {
    let subscriber: Subscriber | undefined;
    return {
      onOpen: (_event, ws) => {
        subscriber = new Subscriber(ws);
        subscribers.add(subscriber);
      },
      onClose: () => {
        if (subscriber) subscribers.delete(subscriber);
      },
    };
  }),
);
const wsProducer = new Producer(broadcast);
app.get("/ws/clients", (c) => c.json({ clients: subscribers.size, open: wss.clients.size }));
app.post("/ws/start", (c) => {
  wsProducer.start(publishSchedule(new URLSearchParams(c.req.query())));
  return c.body(null, 204);
});
app.post("/ws/stop", (c) => c.json({ published: wsProducer.stop() }));

/** Sends message `seq` to every subscriber; while some have too much queued, resolves once they caught up. */
function broadcast(seq: number): Promise<void> | undefined {
  const text = JSON.stringify(broadcastData(seq));
  const behind: Subscriber[] = [];
  for (const subscriber of subscribers) {
    subscriber.ws.send(text);
    if (subscriber.bufferedAmount > MAX_BUFFERED_BYTES) behind.push(subscriber);
  }
  return whileBehind(behind, subscribers);
}

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) =>
  announceReady(info.port),
);
injectWebSocket(server);
