import type { Server } from "node:http";
import type { Socket } from "node:net";

type HttpSocket = Socket & { _httpMessage?: unknown };

/**
 * The open connections of a server, and which of them are idle. Node's own notion of idle
 * (used by `server.close()` and `closeIdleConnections()` on Node 20) counts a connection whose
 * request has been read as idle even while its response is still being sent, so closing the
 * server would cut responses in transfer. Here a connection is busy while Node has a response
 * attached to it, from the request's arrival until the response has been handed over.
 */
export class ConnectionRegistry {
  private readonly sockets = new Set<HttpSocket>();

  attach(server: Server): void {
    server.on("connection", (socket: HttpSocket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    // server.close() calls this first: make it spare connections that are still sending.
    server.closeIdleConnections = () => this.closeIdle();
  }

  get size(): number {
    return this.sockets.size;
  }

  closeIdle(): void {
    for (const socket of this.sockets) if (!socket._httpMessage) socket.destroy();
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
