import { Agent } from "node:http";
import type { App } from "../app/app.js";
import { exchange, hasHeader, type RequestOptions, readAll } from "./http-exchange.js";
import { TestEventStream } from "./test-event-stream.js";
import { TestResponse } from "./test-response.js";
import { TestStream } from "./test-stream.js";
import { TestWebSocket, type WebSocketConnectOptions } from "./test-websocket.js";

export interface TestClientOptions {
  /** Passed to `app.close()` when the client closes. */
  closeTimeout?: number;
}

/**
 * Drives an App over real sockets: `start()` makes it listen on an ephemeral 127.0.0.1 port,
 * `close()` closes it gracefully. Works with `await using`.
 */
export class TestClient {
  readonly url: string;
  readonly #app: App;
  readonly #agent = new Agent({ keepAlive: true });
  readonly #streams = new Set<TestStream>();
  readonly #sockets = new Set<TestWebSocket>();
  readonly #closeTimeout: number | undefined;

  private constructor(app: App, url: string, options: TestClientOptions) {
    this.#app = app;
    this.url = url;
    this.#closeTimeout = options.closeTimeout;
  }

  static async start(app: App, options: TestClientOptions = {}): Promise<TestClient> {
    const server = await app.listen({ port: 0, host: "127.0.0.1" });
    return new TestClient(app, server.url, options);
  }

  /** Sends a request and reads the whole response. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const message = await exchange(this.url, method, path, options, this.#agent);
    const body = await readAll(message);
    return new TestResponse(message.statusCode ?? 0, message.headers, body);
  }

  get(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request("GET", path, options);
  }
  post(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request("POST", path, options);
  }
  put(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request("PUT", path, options);
  }
  patch(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request("PATCH", path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request("DELETE", path, options);
  }
  head(path: string, options?: RequestOptions): Promise<TestResponse> {
    return this.request("HEAD", path, options);
  }

  /**
   * Starts a request on its own connection and resolves once the response head arrives; the
   * body is read as it comes through the returned stream.
   */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<TestStream> {
    const message = await exchange(this.url, method, path, options, false);
    const stream = new TestStream(message);
    this.#streams.add(stream);
    message.socket.once("close", () => this.#streams.delete(stream));
    return stream;
  }

  /**
   * Subscribes to a Server-Sent Events route (GET, `accept: text/event-stream`, plus the
   * given headers, such as `Last-Event-ID`). Returns at once; iterate it for parsed events.
   */
  events(path: string, options: RequestOptions = {}): TestEventStream {
    const headers = { ...options.headers };
    if (!hasHeader(headers, "accept")) headers.accept = "text/event-stream";
    return new TestEventStream(this.stream("GET", path, { ...options, headers }));
  }

  /**
   * Opens a WebSocket to the app (with the `ws` client). Rejects with a WebSocketUpgradeError
   * carrying `statusCode`, `headers` and `body` when the server refuses the upgrade.
   */
  async websocketConnect(
    path: string,
    options: WebSocketConnectOptions = {},
  ): Promise<TestWebSocket> {
    if (!path.startsWith("/")) {
      throw new TypeError(`TestClient paths must start with "/": ${JSON.stringify(path)}`);
    }
    const socket = await TestWebSocket.connect(
      `${this.url.replace(/^http/, "ws")}${path}`,
      options,
    );
    this.#sockets.add(socket);
    socket.closed.then(() => this.#sockets.delete(socket));
    return socket;
  }

  /** Disconnects open streams and WebSockets, then closes the app gracefully. */
  async close(): Promise<void> {
    await Promise.all([
      ...[...this.#streams].map((stream) => stream.close()),
      ...[...this.#sockets].map((socket) => socket.close()),
    ]);
    this.#agent.destroy();
    await this.#app.close({ timeout: this.#closeTimeout });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
