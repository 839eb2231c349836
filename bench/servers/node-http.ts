import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { drained } from "./drained.js";
import { routeSse } from "./node-http-sse.js";
import { attachWebSockets, routeWs } from "./node-http-ws.js";
import { announceReady } from "./ready.js";
import { jsonPayload, makeRow, rowCount } from "./rows.js";

/** The baseline: what one would write by hand with node:http (and `ws` for WebSockets), no framework. */
const server = createServer((req, res) => {
  if (req.url === "/json") return sendJson(res);
  if (req.url?.startsWith("/ndjson")) return void streamRows(req, res);
  if (req.url?.startsWith("/sse") && routeSse(req, res)) return;
  if (req.url?.startsWith("/ws/") && routeWs(req, res)) return;
  res.writeHead(404).end();
});

function sendJson(res: ServerResponse): void {
  const body = JSON.stringify(jsonPayload());
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** One write per row, waiting for 'drain' whenever write() says the buffer is full. */
async function streamRows(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const count = rowCount(new URL(req.url ?? "/", "http://localhost").searchParams);
  res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8" });
  for (let i = 0; i < count; i++) {
    if (!res.write(`${JSON.stringify(makeRow(i))}\n`) && !(await drained(res))) return;
  }
  res.end();
}

attachWebSockets(server);

server.listen(0, "127.0.0.1", () => announceReady((server.address() as AddressInfo).port));
