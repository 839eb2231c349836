import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { sendJson } from "./json-response.js";
import { Producer } from "./producer.js";
import { publishSchedule } from "./sse-events.js";
import { broadcastData, MAX_BUFFERED_BYTES, whileBehind } from "./ws-messages.js";

/**
 * The hand-written WebSocket baseline: the `ws` package on the node:http server, as its README
 * shows (noServer + handleUpgrade). Echo sends back what came, as it came; a broadcast
 * stringifies once and sends the text to every client.
 */
const wss = new WebSocketServer({ noServer: true });
const subscribers = new Set<WebSocket>();
const producer = new Producer(publish);

export function attachWebSockets(server: Server): void {
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? "/", "http://localhost");
    if (pathname === "/ws/echo") wss.handleUpgrade(req, socket, head, echo);
    else if (pathname === "/ws/broadcast") wss.handleUpgrade(req, socket, head, subscribe);
    else socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
}

/** Answers the /ws control routes; false when the request is not one of them. */
export function routeWs(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? "/", "http://localhost");
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /ws/clients") {
    sendJson(res, { clients: subscribers.size, open: wss.clients.size });
  } else if (route === "POST /ws/start") {
    producer.start(publishSchedule(url.searchParams));
    res.writeHead(204).end();
  } else if (route === "POST /ws/stop") sendJson(res, { published: producer.stop() });
  else return false;
  return true;
}

function echo(ws: WebSocket): void {
  ws.on("error", () => {}); // a protocol error closes the socket; nothing else to do
  ws.on("message", (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
}

function subscribe(ws: WebSocket): void {
  ws.on("error", () => {});
  subscribers.add(ws);
  ws.once("close", () => subscribers.delete(ws));
}

/** Sends message `seq` to every subscriber; while some have too much queued, resolves once they caught up. */
function publish(seq: number): Promise<void> | undefined {
  const text = JSON.stringify(broadcastData(seq));
  const behind: WebSocket[] = [];
  for (const client of subscribers) {
    client.send(text);
    if (client.bufferedAmount > MAX_BUFFERED_BYTES) behind.push(client);
  }
  return whileBehind(behind, subscribers);
}
