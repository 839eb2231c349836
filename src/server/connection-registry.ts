import type { Server, ServerResponse } from "node:http";
import type { Http2SecureServer } from "node:http2";
import type { Socket } from "node:net";
import { type TLSSocket, Server as TlsServer } from "node:tls";

/** `_httpMessage` is the response Node is writing on the socket, if any. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };
interface NodeConnectionsList {
  idle(): { socket: HttpSocket }[];
}
/** `_parent` is the TCP socket a server's TLS socket wraps. */
type ServerTlsSocket = TLSSocket & { _parent?: Socket | null };

/**
 * The open connections of a server, and which of them are idle. Node 20's own notion of idle
 * (used by `server.close()` and `closeIdleConnections()`) counts a connection whose request
 * has been read as idle even while its response is still being written, so closing the server
 * would cut responses in transfer. Here a connection is idle only when Node sees no request
 * on it (not even a half-received head) and no response is attached to it.
 *
 * On a TLS port the HTTP/1.1 connections are the TLS sockets (HTTP/2's, on an HTTP/2 port,
 * are its sessions: see SessionRegistry); a TCP connection still in its handshake has nothing
 * to finish, and is closed like a silent one.
 */
export class ConnectionRegistry {
  private readonly sockets = new Set<HttpSocket>();
  /** TCP connections of a TLS port whose handshake has not completed. */
  private readonly handshaking = new Set<Socket>();
  private readonly seenSilent = new WeakSet<Socket>();
  private nodeConnections: (() => NodeConnectionsList | undefined) | undefined;
  /** One 'close' listener for every socket (called with `this` = the socket): no closure each. */
  private readonly forget: (this: HttpSocket) => void;

  constructor() {
    const sockets = this.sockets;
    this.forget = function (this: HttpSocket) {
      sockets.delete(this);
    };
  }

  attach(server: Server | Http2SecureServer): void {
    if (server instanceof TlsServer) this.attachTls(server);
    else {
      server.on("connection", (socket: HttpSocket) => {
        this.sockets.add(socket);
        socket.once("close", this.forget);
      });
    }
    this.nodeConnections = () => nodeConnectionsOf(server);
    // server.close() calls this first (an HTTP/2 server with HTTP/1.1 too): make it spare
    // connections that are still sending.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections = () => this.closeIdle();
  }

  private attachTls(server: TlsServer): void {
    const { handshaking } = this;
    server.on("connection", (socket: Socket) => {
      handshaking.add(socket);
      socket.once("close", () => handshaking.delete(socket));
    });
    server.on("secureConnection", (socket: ServerTlsSocket) => {
      if (socket._parent) handshaking.delete(socket._parent);
      if (socket.alpnProtocol === "h2") return;
      this.sockets.add(socket);
      socket.once("close", this.forget);
    });
  }

  get size(): number {
    return this.sockets.size;
  }

  closeIdle(): void {
    const list = this.nodeConnections?.();
    // Without Node's list (a future Node may rename it), fall back to "no response attached".
    const candidates = list ? list.idle().map((connection) => connection.socket) : this.sockets;
    for (const socket of candidates) if (!socket._httpMessage) socket.destroy();
    // Node counts a connection that has sent nothing yet as busy (its head timeout runs from
    // the connect), but there is nothing to finish on it: browsers and fetch open such spare
    // connections ahead of time. Its request may be waiting unread in the kernel, though: it
    // is closed only when a later sweep, after the event loop has polled for input, still
    // finds it silent.
    for (const socket of this.sockets) {
      if (socket.bytesRead !== 0 || socket._httpMessage) continue;
      this.destroyOnSecondSight(socket);
    }
    for (const socket of this.handshaking) this.destroyOnSecondSight(socket);
  }

  private destroyOnSecondSight(socket: Socket): void {
    if (this.seenSilent.has(socket)) socket.destroy();
    else this.seenSilent.add(socket);
  }

  /**
   * For a closing server: each connection still carrying a response is closed once that
   * response has gone out, instead of being kept alive for another request. A client reusing
   * it would get the closing app's 503, and EventSource gives up for good on any status but
   * 200 (browsers' and the `eventsource` package's alike), whereas a closed connection makes
   * it reconnect, through the load balancer, to an instance that is still up. An SSE stream
   * ended by the close is exactly such a response.
   */
  closeEachAfterItsResponse(): void {
    for (const socket of this.sockets) {
      const response = socket._httpMessage;
      if (!response) continue;
      const closeWhenDone = () => {
        // Node attaches a pipelined request's response before this runs: close after that one.
        const next = socket._httpMessage;
        if (next) next.once("finish", closeWhenDone);
        else socket.destroySoon();
      };
      response.once("finish", closeWhenDone);
    }
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    for (const socket of this.handshaking) socket.destroy();
  }
}

function nodeConnectionsOf(server: Server | Http2SecureServer): NodeConnectionsList | undefined {
  const key = Object.getOwnPropertySymbols(server).find(
    (symbol) => symbol.description === "http.server.connections",
  );
  const list = key ? (server as unknown as Record<symbol, NodeConnectionsList>)[key] : undefined;
  return typeof list?.idle === "function" ? list : undefined;
}
