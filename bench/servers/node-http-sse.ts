import type { IncomingMessage, ServerResponse } from "node:http";
import { drained } from "./drained.js";
import { sendJson } from "./json-response.js";
import { Producer } from "./producer.js";
import { publishSchedule, sseFrame } from "./sse-events.js";

/**
 * The hand-written SSE baseline: a Set of open responses and, per event, one frame string
 * written to each of them.
 */
const clients = new Set<ServerResponse>();
const producer = new Producer(publish);

/** Answers the /sse routes; false when the request is not one of them. */
export function routeSse(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? "/", "http://localhost");
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /sse") subscribe(res);
  else if (route === "GET /sse/clients") sendJson(res, { clients: clients.size });
  else if (route === "POST /sse/start") {
    producer.start(publishSchedule(url.searchParams));
    res.writeHead(204).end();
  } else if (route === "POST /sse/stop") sendJson(res, { published: producer.stop() });
  else return false;
  return true;
}

function subscribe(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.flushHeaders();
  clients.add(res);
  res.once("close", () => clients.delete(res));
}

/** Writes event `seq` to every client; while some have a full socket, resolves once they drained. */
function publish(seq: number): Promise<void> | undefined {
  const frame = sseFrame(seq); // stamped once, the same bytes for every client
  const behind: Promise<boolean>[] = [];
  for (const res of clients) {
    if (!res.write(frame)) behind.push(drained(res));
  }
  return behind.length === 0 ? undefined : Promise.all(behind).then(() => undefined);
}
