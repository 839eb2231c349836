import { createServer, type Socket } from "node:net";
import { type RequestHead, readRequestHead, writeEmpty } from "../lib/floor-http.js";
import { type WriteTo, writeCorked, writeNow } from "../lib/floor-writes.js";
import { floorSse } from "./floor-sse.js";
import { floorWs } from "./floor-ws.js";
import { announceReady } from "./ready.js";

/**
 * Not a framework: the limit of what Node can do. Bare `node:net` sockets, a request head
 * read by hand just far enough to route it, response heads and the WebSocket handshake
 * written by hand, and one prebuilt Buffer per event (the SSE chunk, or the WebSocket frame)
 * written to every client. BENCH_FLOOR_CORK=1 is "floor+cork": each socket is corked at its
 * first write of an event-loop turn and uncorked once the turn ends (bench/lib/floor-writes.ts).
 */
const write: WriteTo = process.env.BENCH_FLOOR_CORK === "1" ? writeCorked : writeNow;
const routeSse = floorSse(write);
const routeWs = floorWs(write);

/** Bytes of a request head that has not fully arrived, per connection. */
const partial = new WeakMap<Socket, Buffer>();

// noDelay, as node:http sets it on every connection.
const server = createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {}); // a client gone mid-write: 'close' follows
  socket.on("data", readRequests);
});

/** Answers each request that arrived, until one turns the connection into a stream. */
function readRequests(this: Socket, chunk: Buffer): void {
  const before = partial.get(this);
  let bytes = before ? Buffer.concat([before, chunk]) : chunk;
  partial.delete(this);
  while (bytes.length > 0) {
    const read = readRequestHead(bytes);
    if ("error" in read) {
      writeEmpty(
        this,
        read.error === "too large" ? "431 Request Header Fields Too Large" : "400 Bad Request",
        true,
      );
      this.off("data", readRequests);
      return;
    }
    if ("pending" in read) {
      partial.set(this, read.pending);
      return;
    }
    const { head, rest } = read;
    if (route(this, head, rest)) {
      this.off("data", readRequests); // from now on the stream's own reader, if any
      return;
    }
    bytes = rest;
  }
}

/** Answers one request; true once the connection became an event stream or a WebSocket. */
function route(socket: Socket, head: RequestHead, rest: Buffer): boolean {
  if (head.path.startsWith("/sse")) return routeSse(socket, head);
  if (head.path.startsWith("/ws/")) return routeWs(socket, head, rest);
  writeEmpty(socket, "404 Not Found");
  return false;
}

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") announceReady(address.port);
});
