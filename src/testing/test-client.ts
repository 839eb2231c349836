import { Agent } from "node:http";
import type { App } from "../app/app.js";
import { H2Connection } from "./h2-connection.js";
import { exchange, hasHeader, type RequestOptions, readAll } from "./http-exchange.js";
import { type ReceivedResponse, receivedOverHttp1 } from "./received-response.js";
import { TestEventStream } from "./test-event-stream.js";
import { TestResponse } from "./test-response.js";
import { TestStream } from "./test-stream.js";
import { TestWebSocket, type WebSocketConnectOptions } from "./test-websocket.js";

export interface TestClientOptions {
  /** Passed to `app.close()` when the client closes. */
  closeTimeout?: number;
  /**
   * Speak HTTP/2: the app listens with `http2: "cleartext"` (h2c, no certificate to make) and
   * every request and stream is a stream of one connection, as a browser's are over h2,
   * WebSockets included (RFC 8441; permessage-deflate is not offered over h2).
   */
  http2?: boolean;
}

/**
 * Drives an App over real sockets: `start()` makes it listen on an ephemeral 127.0.0.1 port,
 * `close()` closes it gracefully. Works with `await using`.
 */
export class TestClient {
  readonly url: string;
  readonly #app: App;
  readonly #agent = new Agent({ keepAlive: true });
  /** The h2 connection, with `http2`. */
  readonly #h2: H2Connection | undefined;
  readonly #streams = new Set<TestStream>();
  readonly #sockets = new Set<TestWebSocket>();
  readonly #closeTimeout: number | undefined;

  private constructor(app: App, url: string, options: TestClientOptions) {
    this.#app = app;
    this.url = url;
    this.#closeTimeout = options.closeTimeout;
    this.#h2 = options.http2 ? new H2Connection(url) : undefined;
  }

  static async start(app: App, options: TestClientOptions = {}): Promise<TestClient> {
    const where = { port: 0, host: "127.0.0.1" };
    const server = await app.listen(options.http2 ? { ...where, http2: "cleartext" } : where);
    return new TestClient(app, server.url, options);
  }

  /** Sends a request and reads the whole response. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const message = this.#h2
      ? await this.#h2.exchange(method, path, options)
      : receivedOverHttp1(await exchange(this.url, method, path, options, this.#agent));
    const body = await readAll(message.body);
    return new TestResponse(message.statusCode, message.headers, body);
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
   * Starts a request on its own connection (over h2, its own stream of the one connection)
   * and resolves once the response head arrives; the body is read as it comes through the
   * returned stream.
   */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<TestStream> {
    const message: ReceivedResponse = this.#h2
      ? await this.#h2.exchange(method, path, options)
      : receivedOverHttp1(await exchange(this.url, method, path, options, false));
    const stream = new TestStream(message);
    this.#streams.add(stream);
    message.onClose(() => this.#streams.delete(stream));
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
   * Opens a WebSocket to the app (with the `ws` client; with `http2`, on a stream of the h2
   * connection). Rejects with a WebSocketUpgradeError carrying `statusCode`, `headers` and
   * `body` when the server refuses the upgrade (an answer other than 101, or 200 over h2).
   */
  async websocketConnect(
    path: string,
    options: WebSocketConnectOptions = {},
  ): Promise<TestWebSocket> {
    if (!path.startsWith("/")) {
      throw new TypeError(`TestClient paths must start with "/": ${JSON.stringify(path)}`);
    }
    const socket = this.#h2
      ? await this.#h2.websocket(path, options)
      : await TestWebSocket.connect(`${this.url.replace(/^http/, "ws")}${path}`, options);
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
    const closing = this.#app.close({ timeout: this.#closeTimeout });
    // After the app's GOAWAY, so that the session ends with what the app still sends.
    this.#h2?.close();
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
