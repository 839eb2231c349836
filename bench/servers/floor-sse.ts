import type { Socket } from "node:net";
import { type RequestHead, SSE_HEAD, sseChunk, writeEmpty, writeJson } from "../lib/floor-http.js";
import type { WriteTo } from "../lib/floor-writes.js";
import { Producer } from "./producer.js";
import { publishSchedule, sseFrame } from "./sse-events.js";

/**
 * The floor's SSE: a Set of sockets and, per event, one prebuilt chunk written to each of them
 * (`write`: at once, or corked for the turn).
 */
export function floorSse(write: WriteTo) {
  const clients = new Set<Socket>();
  const producer = new Producer(publish);

  function publish(seq: number): Promise<void> | undefined {
    const chunk = sseChunk(sseFrame(seq)); // the same bytes for every client
    const behind: Promise<void>[] = [];
    for (const socket of clients) if (!write(socket, chunk)) behind.push(drained(socket));
    return behind.length === 0 ? undefined : Promise.all(behind).then(() => undefined);
  }

  /** Answers the /sse routes; true once `socket` became an event stream, else false. */
  return function routeSse(socket: Socket, head: RequestHead): boolean {
    const route = `${head.method} ${head.path}`;
    if (route === "GET /sse") {
      socket.write(SSE_HEAD);
      clients.add(socket);
      socket.once("close", () => clients.delete(socket));
      return true;
    }
    if (route === "GET /sse/clients") writeJson(socket, { clients: clients.size });
    else if (route === "POST /sse/start") {
      producer.start(publishSchedule(head.query));
      writeEmpty(socket, "204 No Content");
    } else if (route === "POST /sse/stop") writeJson(socket, { published: producer.stop() });
    else writeEmpty(socket, "404 Not Found");
    return false;
  };
}

/** Resolves on 'drain', or once the socket closed (client gone). */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      socket.off("drain", settle);
      socket.off("close", settle);
      resolve();
    };
    socket.on("drain", settle);
    socket.on("close", settle);
  });
}
