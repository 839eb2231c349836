import type { Socket } from "node:net";
import { echoOn } from "../lib/floor-echo.js";
import { type RequestHead, writeEmpty, writeJson } from "../lib/floor-http.js";
import { handshakeAnswer, onSubscriberBytes, textFrame } from "../lib/floor-websocket.js";
import { corkForTurn, type WriteTo, writeCorked } from "../lib/floor-writes.js";
import { Producer } from "./producer.js";
import { publishSchedule } from "./sse-events.js";
import { broadcastData, MAX_BUFFERED_BYTES } from "./ws-messages.js";

/** How often a waiting producer looks at the clients that were behind, as whileBehind() does. */
const BEHIND_POLL_MS = 1;

/**
 * The floor's WebSockets: a handshake answered by hand; a broadcast stringifies each message
 * once, frames it once and writes the frame to every subscriber (`write`: at once, or corked
 * for the turn); the echo is `ws`'s Receiver and Sender (bench/lib/floor-echo.ts).
 */
export function floorWs(write: WriteTo) {
  const subscribers = new Set<Socket>();
  let open = 0;
  const producer = new Producer(publish);
  const beforeEcho = write === writeCorked ? corkForTurn : () => {};

  function publish(seq: number): Promise<void> | undefined {
    const frame = textFrame(JSON.stringify(broadcastData(seq)));
    const behind: Socket[] = [];
    for (const socket of subscribers) {
      write(socket, frame);
      if (socket.writableLength > MAX_BUFFERED_BYTES) behind.push(socket);
    }
    return whileBehind(behind, subscribers);
  }

  /** A WebSocket from a valid handshake: counted while open; false (400 sent) if not valid. */
  function accept(socket: Socket, head: RequestHead): boolean {
    const answer = handshakeAnswer(head);
    if (!answer) {
      writeEmpty(socket, "400 Bad Request", true);
      return false;
    }
    socket.write(answer);
    open++;
    socket.once("close", () => open--);
    return true;
  }

  /** Answers the /ws routes; true once `socket` became a WebSocket, else false. */
  return function routeWs(socket: Socket, head: RequestHead, rest: Buffer): boolean {
    const route = `${head.method} ${head.path}`;
    if (route === "GET /ws/broadcast") {
      if (!accept(socket, head)) return true;
      subscribers.add(socket);
      socket.once("close", () => subscribers.delete(socket));
      socket.on("data", onSubscriberBytes);
      return true;
    }
    if (route === "GET /ws/echo") {
      if (accept(socket, head)) echoOn(socket, rest, beforeEcho);
      return true;
    }
    if (route === "GET /ws/clients") writeJson(socket, { clients: subscribers.size, open });
    else if (route === "POST /ws/start") {
      producer.start(publishSchedule(head.query));
      writeEmpty(socket, "204 No Content");
    } else if (route === "POST /ws/stop") writeJson(socket, { published: producer.stop() });
    else writeEmpty(socket, "404 Not Found");
    return false;
  };
}

/**
 * The rule of every WebSocket producer (see whileBehind in ws-messages.ts), with a socket's
 * own count of queued bytes: while a connected client has over MAX_BUFFERED_BYTES queued, wait.
 */
function whileBehind(behind: Socket[], clients: ReadonlySet<Socket>): Promise<void> | undefined {
  if (behind.length === 0) return undefined;
  return new Promise((resolve) => {
    let waiting = behind;
    const poll = () => {
      waiting = waiting.filter((s) => clients.has(s) && s.writableLength > MAX_BUFFERED_BYTES);
      if (waiting.length === 0) resolve();
      else setTimeout(poll, BEHIND_POLL_MS);
    };
    setTimeout(poll, BEHIND_POLL_MS);
  });
}
