import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { sendJson } from "./json-response.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { publishSchedule } from "./sse-events.js";
import { type Buffered, broadcastData, MAX_BUFFERED_BYTES, whileBehind } from "./ws-messages.js";

/**
 * The socket.io peer: socket.io attached to a node:http server, as its docs show, with the
 * WebSocket transport only (no long-polling, no per-message deflate, no client bundle served).
 * Clients speak engine.io v4 / socket.io v5 packets at /socket.io/: namespace "/echo" sends each
 * "echo" event back, namespace "/broadcast" gets one "tick" event per published message. The
 * /ws control routes are those of the `ws` baseline (node-http-ws.ts).
 */
const server = createServer(routeControl);
const io = new Server(server, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
});
const broadcast = io.of("/broadcast");
const subscribers = new Set<Backlog>();
const producer = new Producer(publish);

io.of("/echo").on("connection", (socket) => {
  socket.on("echo", (data: unknown) => socket.emit("echo", data));
});

broadcast.on("connection", (socket) => {
  const backlog = new Backlog(socket);
  subscribers.add(backlog);
  socket.once("disconnect", () => subscribers.delete(backlog));
});

/** The control routes; socket.io answers /socket.io/ before this handler sees a request. */
function routeControl(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /ws/clients") {
    sendJson(res, { clients: broadcast.sockets.size, open: io.engine.clientsCount });
  } else if (route === "POST /ws/start") {
    producer.start(publishSchedule(url.searchParams));
    res.writeHead(204).end();
  } else if (route === "POST /ws/stop") sendJson(res, { published: producer.stop() });
  else res.writeHead(404).end();
}

/** Sends message `seq` to every subscriber (serialised once); while some are behind, resolves once they caught up. */
function publish(seq: number): Promise<void> | undefined {
  broadcast.emit("tick", broadcastData(seq));
  const behind: Backlog[] = [];
  for (const client of subscribers) {
    if (client.bufferedAmount > MAX_BUFFERED_BYTES) behind.push(client);
  }
  return whileBehind(behind, subscribers);
}

/** An engine.io packet as queued: `data` is the encoded socket.io packet. */
interface QueuedPacket {
  data?: unknown;
}

/**
 * What the engine.io socket (socket.conn) keeps private and has no public accessor for: the
 * `ws` WebSocket its transport writes to, and its own queue of packets not yet handed to it.
 */
interface EngineInternals {
  transport: { socket?: Partial<Buffered> };
  writeBuffer?: QueuedPacket[];
}

/**
 * The bytes queued on the server for one client. engine.io hands its transport one batch of
 * packets, then holds the next ones in its writeBuffer until `ws` has written that batch out
 * (ws's send callback), so under backpressure most of a client's backlog is in engine.io's
 * queue, not in the WebSocket's bufferedAmount: both are counted.
 */
class Backlog implements Buffered {
  private readonly ws: Buffered;
  private readonly conn: EngineInternals & { writeBuffer: QueuedPacket[] };

  constructor(socket: Socket) {
    const conn = socket.conn as unknown as EngineInternals;
    const ws = conn.transport.socket;
    // Fail loudly if a new engine.io moved these: without them there is no backpressure.
    if (typeof ws?.bufferedAmount !== "number" || !Array.isArray(conn.writeBuffer)) {
      throw new Error("socket.io peer: engine.io's WebSocket or writeBuffer is not where expected");
    }
    this.ws = ws as Buffered;
    this.conn = conn as EngineInternals & { writeBuffer: QueuedPacket[] };
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount + queuedBytes(this.conn.writeBuffer);
  }
}

/**
 * The bytes of engine.io's queue, estimated from its last packet: the queue of a broadcast
 * subscriber holds ticks of (nearly) one size, and summing hundreds of packets for every
 * client at every message would cost more than the publishing under test. Each packet goes
 * out as its type ("4", a message) and its data.
 */
function queuedBytes(queue: QueuedPacket[]): number {
  if (queue.length === 0) return 0;
  const { data } = queue[queue.length - 1];
  return queue.length * (1 + (typeof data === "string" ? Buffer.byteLength(data) : 0));
}

server.listen(0, "127.0.0.1", () => announceReady((server.address() as AddressInfo).port));
