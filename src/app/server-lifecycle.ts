import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { answerClientError } from "../server/client-error.js";
import { ConnectionRegistry } from "../server/connection-registry.js";
import type { Topics } from "../topics/topics.js";
import { logSafely } from "../util/logger.js";
import { settledWithin } from "../util/settled-within.js";
import type { WebSocketGateway } from "../websocket/websocket-gateway.js";
import type { AppSettings } from "./app-options.js";
import type { LifecycleHooks } from "./lifecycle-hooks.js";
import { type ListeningServer, type ListenOptions, listenOn } from "./listen.js";
import type { RequestDispatch } from "./request-dispatch.js";

type UpgradeListener = (raw: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What the server lifecycle starts and stops, fixed when the app is made. */
export interface LifecycleParts {
  readonly settings: AppSettings;
  readonly logger: Logger;
  readonly dispatch: RequestDispatch;
  readonly handleUpgrade: UpgradeListener;
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
 */
export class ServerLifecycle {
  readonly #parts: LifecycleParts;
  readonly #httpConnections = new ConnectionRegistry();
  /** The server once created, to attach the upgrade listener to when a WebSocket route comes late. */
  #server: Server | undefined;
  /** The pending or settled `listen()`, so that `close()` during it still closes the server. */
  #starting: Promise<ListeningServer> | undefined;
  #listening: ListeningServer | undefined;
  #closing: Promise<void> | undefined;

  constructor(parts: LifecycleParts) {
    this.#parts = parts;
  }

  get logger(): Logger {
    return this.#parts.logger;
  }

  /** The server, once listening. */
  get server(): Server | undefined {
    return this.#listening?.server;
  }

  async listen(options: ListenOptions): Promise<ListeningServer> {
    if (this.#closing) throw new Error("The app has been closed; create a new App to listen again");
    if (this.#starting) {
      throw new Error(
        `The app is already listening${this.#listening ? ` on ${this.#listening.url}` : ""}`,
      );
    }
    this.#starting = listenOn(this.#createServer(), options, this);
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
      await serverClosed;
    }
    listening?.detachSignals();
    logSafely(this.logger, "info", {}, "closed");
  }

  #createServer(): Server {
    const { settings, dispatch, gateway, logger } = this.#parts;
    const server = createServer(
      {
        headersTimeout: settings.headersTimeout,
        requestTimeout: settings.requestTimeout,
        maxHeaderSize: settings.maxHeaderSize,
        // 0 disables a timeout; the check must not then run every millisecond.
        connectionsCheckingInterval: Math.min(1000, settings.headersTimeout || 1000),
        keepAliveTimeout: settings.keepAliveTimeout,
      },
      dispatch.handle,
    );
    // One more than the limit is parsed, so that going over it is seen (Node drops the rest).
    // (Capped: Node doubles it into an int32; the head size bounds the count far below anyway.)
    server.maxHeadersCount = Math.min(settings.maxHeadersCount + 1, 1_000_000);
    this.#httpConnections.attach(server);
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket, logger),
    );
    this.#server = server;
    if (gateway.hasRoutes) this.#listenForUpgrades(server);
    return server;
  }

  /**
   * Once a server has an 'upgrade' listener, Node hands it every request that asks for an
   * upgrade: an app without WebSocket routes does not listen, and keeps serving those as
   * ordinary requests.
   */
  #listenForUpgrades(server: Server): void {
    if (server.listenerCount("upgrade") === 0) server.on("upgrade", this.#parts.handleUpgrade);
  }
}
