import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createChannel, createSession } from "better-sse";
import { drained } from "./drained.js";
import { sendJson } from "./json-response.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { publishSchedule, sseData } from "./sse-events.js";

/**
 * The better-sse peer (SSE only), as its docs show: a session per client on node:http,
 * registered with a channel that broadcasts every event to all of them.
 */
const channel = createChannel();
/** The sessions' responses: better-sse does not say when a socket is full, they do. */
const responses = new Set<ServerResponse>();
const producer = new Producer(publish);

const sessionOptions = {
  // The event data is already a JSON string, sent as is (the default serializer,
  // JSON.stringify, would quote it again).
  serializer: (data: unknown) => (typeof data === "string" ? data : JSON.stringify(data)),
};

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /sse") void subscribe(req, res);
  else if (route === "GET /sse/clients") sendJson(res, { clients: channel.sessionCount });
  else if (route === "POST /sse/start") {
    producer.start(publishSchedule(url.searchParams));
    res.writeHead(204).end();
  } else if (route === "POST /sse/stop") sendJson(res, { published: producer.stop() });
  else res.writeHead(404).end();
});

async function subscribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = await createSession(req, res, sessionOptions);
  channel.register(session); // deregistered by the channel once the session disconnects
  responses.add(res);
  res.once("close", () => responses.delete(res));
}

/**
 * Broadcasts event `seq` (better-sse names it "message", its default) to every session;
 * while some sockets are full, resolves once they drained.
 */
function publish(seq: number): Promise<void> | undefined {
  channel.broadcast(sseData(seq), "message", { eventId: String(seq) });
  const behind: Promise<boolean>[] = [];
  for (const res of responses) {
    if (res.writableNeedDrain) behind.push(drained(res));
  }
  return behind.length === 0 ? undefined : Promise.all(behind).then(() => undefined);
}

server.listen(0, "127.0.0.1", () => announceReady((server.address() as AddressInfo).port));
