import type { IncomingMessage, Server } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { answerClientError } from "../server/client-error.js";
import { ConnectionRegistry } from "../server/connection-registry.js";
import { SessionRegistry } from "../server/session-registry.js";
import type { Topics } from "../topics/topics.js";
import { logSafely } from "../util/logger.js";
import { settledWithin } from "../util/settled-within.js";
import type { WebSocketGateway } from "../websocket/websocket-gateway.js";
import type { AppSettings } from "./app-options.js";
import type { LifecycleHooks } from "./lifecycle-hooks.js";
import { type AppServer, type ListeningServer, type ListenOptions, listenOn } from "./listen.js";
import { listenProtocol } from "./listen-protocol.js";
import { createNodeServer, type NodeServer } from "./node-server.js";
import type { RequestDispatch } from "./request-dispatch.js";

type UpgradeListener = (raw: IncomingMessage, socket: Duplex, head: Buffer) => void;
type ConnectListener = (raw: Http2ServerRequest, response: Http2ServerResponse) => void;

/** What the server lifecycle starts and stops, fixed when the app is made. */
export interface LifecycleParts {
  readonly settings: AppSettings;
  readonly logger: Logger;
  readonly dispatch: RequestDispatch;
  readonly handleUpgrade: UpgradeListener;
  /** An h2 server's CONNECT requests: WebSocket handshakes over h2 (RFC 8441), or refused. */
  readonly handleConnect: ConnectListener;
  readonly gateway: WebSocketGateway;
  readonly topics: Topics;
  readonly hooks: LifecycleHooks;
}

/**
 * The app's server from `listen()` to `close()`: made with the options' timeouts and limits,
 * and closed gracefully, in-flight requests, streams and WebSockets given until the deadline.
 *
 * The close, in order: new requests get 503 and the server stops accepting connections;
 * in-flight requests are aborted and WebSockets sent 1001, and both are waited for; what is
 * left is cut; the onClose hooks run; the broker closes; the last connections are closed.
 * Over HTTP/2 each session is sent GOAWAY at the start (its streams in flight go on, new ones
 * are refused) and destroyed at the deadline if it has not closed by then.
 */
export class ServerLifecycle {
  readonly #parts: LifecycleParts;
  readonly #httpConnections = new ConnectionRegistry();
  /** HTTP/2 sessions, when listening with `http2`. */
  readonly #sessions: SessionRegistry;
  /** The server once created, to attach the upgrade listener to when a WebSocket route comes late. */
  #server: NodeServer | undefined;
  /** The pending or settled `listen()`, so that `close()` during it still closes the server. */
  #starting: Promise<ListeningServer> | undefined;
  #listening: ListeningServer | undefined;
  #closing: Promise<void> | undefined;

  constructor(parts: LifecycleParts) {
    this.#parts = parts;
    this.#sessions = new SessionRegistry(parts.settings.keepAliveTimeout);
  }

  get logger(): Logger {
    return this.#parts.logger;
  }

  /** The node:http or node:https server, once listening; undefined over HTTP/2. */
  get server(): Server | undefined {
    return this.#listening && this.#server?.kind === "http1" ? this.#server.server : undefined;
  }

  async listen(options: ListenOptions): Promise<ListeningServer> {
    if (this.#closing) throw new Error("The app has been closed; create a new App to listen again");
    if (this.#starting) {
      throw new Error(
        `The app is already listening${this.#listening ? ` on ${this.#listening.url}` : ""}`,
      );
    }
    this.#starting = listenOn(this.#createServer(options), options, this);
    try {
      this.#listening = await this.#starting;
    } catch (error) {
      this.#starting = undefined;
      throw error;
    }
    if (this.#closing) throw new Error("The app was closed while it was starting to listen");
    logSafely(this.logger, "info", { url: this.#listening.url }, "listening");
    try {
      await this.#parts.hooks.runListen(this.#listening);
    } catch (error) {
      // An app whose start-up failed half-way is not left serving.
      await this.close();
      throw error;
    }
    if (this.#closing) throw new Error("The app was closed while it was starting to listen");
    return this.#listening;
  }

  /** Once closing, every call gets the same promise. Default timeout: `closeTimeout`. */
  close(timeout?: number): Promise<void> {
    if (!this.#closing) {
      this.#parts.hooks.closeRequested();
      this.#parts.dispatch.stopAccepting();
      this.#closing = this.#shutdown(timeout ?? this.#parts.settings.closeTimeout);
    }
    return this.#closing;
  }

  /** A WebSocket route was added: a server made before it must now take upgrades. */
  webSocketRouteAdded(): void {
    if (this.#server) this.#listenForUpgrades(this.#server);
  }

  async #shutdown(timeout: number): Promise<void> {
    const { dispatch, gateway, topics } = this.#parts;
    const deadline = Date.now() + timeout;
    const listening = await this.#starting?.catch(() => undefined);
    const server = listening?.server;
    const serverClosed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : undefined;
    // Streams ended by the close must not leave their connections open for reuse: a client's
    // next request there would get this app's 503 (EventSource gives up for good on it).
    this.#httpConnections.closeEachAfterItsResponse();
    this.#sessions.closeAll();
    const requestsDone = dispatch.abortInFlight();
    const socketsClosed = gateway.closeAll();
    await settledWithin([...requestsDone, socketsClosed], deadline - Date.now());
    await gateway.terminateAll();
    // After the handlers (which may still publish or use what a hook closes), before the broker.
    await this.#parts.hooks.runClose(this.logger, deadline);
    await topics.close();
    if (serverClosed) {
      // Responses already handed to their sockets may still be on their way: wait for their
      // connections to go idle (and close them as they do), up to the deadline.
      const sweep = setInterval(() => this.#httpConnections.closeIdle(), 50);
      await settledWithin([serverClosed], deadline - Date.now());
      clearInterval(sweep);
      this.#httpConnections.destroyAll();
      this.#sessions.destroyAll();
      await serverClosed;
    }
    listening?.detachSignals();
    logSafely(this.logger, "info", {}, "closed");
  }

  /** The server for the options' protocol (checked first: a TypeError for a bad `http2`/`tls`). */
  #createServer(options: ListenOptions): AppServer {
    const { settings, dispatch, gateway, logger } = this.#parts;
    const made = createNodeServer(listenProtocol(options), settings, dispatch.handle);
    const { server } = made;
    if (made.kind !== "h2c") {
      this.#httpConnections.attach(made.server);
      // HTTP/1.1's parser errors (on an HTTP/2 port too, for its HTTP/1.1 clients). Over h2,
      // Node answers a malformed frame or head itself (RST_STREAM or GOAWAY, PROTOCOL_ERROR).
      made.server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
        answerClientError(error, socket, logger),
      );
    }
    if (made.kind !== "http1") {
      this.#sessions.attach(made.server);
      made.server.on("connect", this.#parts.handleConnect);
    }
    this.#server = made;
    if (gateway.hasRoutes) this.#listenForUpgrades(made);
    return server;
  }

  /**
   * Once a server has an 'upgrade' listener, Node hands it every request that asks for an
   * upgrade: an app without WebSocket routes does not listen, and keeps serving those as
   * ordinary requests.
   */
  #listenForUpgrades(made: NodeServer): void {
    // An h2c port has no HTTP/1.1 to upgrade (its WebSockets come by CONNECT, see above).
    if (made.kind === "h2c") return;
    const { server } = made;
    if (server.listenerCount("upgrade") === 0) server.on("upgrade", this.#parts.handleUpgrade);
  }
}
