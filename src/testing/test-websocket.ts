import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import WebSocket from "ws";
import { stringifyJson } from "../util/json.js";
import { Inbox, type InboxMessage } from "../websocket/message-inbox.js";
import { toFrame } from "../websocket/websocket-message.js";
import type { RawWebSocket } from "./raw-websocket.js";

export interface WebSocketConnectOptions {
  headers?: OutgoingHttpHeaders;
  /** Subprotocols to offer, preferred first. */
  protocols?: string[];
  /** Offer permessage-deflate, as browsers do. Default true. */
  compression?: boolean;
  /** Answer the server's pings, as every real client does. false plays a dead peer. Default true. */
  answerPings?: boolean;
  /** Largest message accepted from the server, in bytes. Default: ws's (100 MiB). */
  maxPayload?: number;
}

export interface WebSocketCloseInfo {
  code: number;
  reason: string;
}

/** A refused upgrade: the HTTP answer the server gave instead of 101. */
export class WebSocketUpgradeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: string,
  ) {
    super(`WebSocket upgrade refused with ${statusCode}: ${body}`);
    this.name = "WebSocketUpgradeError";
  }

  /** The body parsed as JSON (sluice's error bodies are). */
  json<T = unknown>(): T {
    return JSON.parse(this.body) as T;
  }
}

/** @internal How long a client close waits for the server's answer before it cuts the connection. */
export const CLOSE_TIMEOUT_MS = 2_000;

/**
 * The client end of a WebSocket opened by `client.websocketConnect()`, on the `ws` package.
 * Messages are queued as they arrive (all of them: `raw.pause()` plays a client that stops
 * reading); `receive()` takes them in order.
 */
export class TestWebSocket implements AsyncIterable<InboxMessage> {
  /** Settles once the connection is closed, with the code and reason the server sent. */
  readonly closed: Promise<WebSocketCloseInfo>;
  /** The `ws` client underneath, for what this class does not wrap. */
  readonly raw: RawWebSocket;
  readonly #inbox: Inbox;

  /** The headers of the server's answer to the handshake (its 101, or its 200 over h2). */
  readonly headers: IncomingHttpHeaders;

  private constructor(raw: WebSocket, headers: IncomingHttpHeaders) {
    this.raw = raw;
    this.headers = headers;
    // Everything the server sends is kept until the test reads it: no pushing back, which
    // would change what the server sees (pongs and close frames unread).
    this.#inbox = new Inbox();
    raw.on("message", (data, isBinary) => {
      const bytes = data as Buffer;
      this.#inbox.deliver(isBinary ? bytes : bytes.toString("utf8"));
    });
    raw.on("error", () => {}); // a failure shows as the close code (1006, 1009...)
    this.closed = new Promise((resolve) => {
      raw.once("close", (code, reason) => {
        this.#inbox.end();
        resolve({ code, reason: reason.toString("utf8") });
      });
    });
  }

  /** @internal A socket opened elsewhere (on an h2 stream, by TestClient's h2 connection). */
  static wrap(raw: WebSocket, headers: IncomingHttpHeaders): TestWebSocket {
    return new TestWebSocket(raw, headers);
  }

  /** Opens the connection; rejects with a WebSocketUpgradeError if the server answers otherwise than 101. */
  static connect(url: string, options: WebSocketConnectOptions = {}): Promise<TestWebSocket> {
    const raw = new WebSocket(url, options.protocols ?? [], {
      headers: options.headers as Record<string, string> | undefined,
      perMessageDeflate: options.compression ?? true,
      autoPong: options.answerPings ?? true,
      maxPayload: options.maxPayload,
      closeTimeout: CLOSE_TIMEOUT_MS,
    } as WebSocket.ClientOptions);
    return TestWebSocket.opening(raw);
  }

  /**
   * @internal The TestWebSocket of a `ws` client being opened, once the server accepts it;
   * a WebSocketUpgradeError when it answers otherwise.
   */
  static opening(raw: WebSocket): Promise<TestWebSocket> {
    let headers: IncomingHttpHeaders = {};
    raw.once("upgrade", (response) => {
      headers = response.headers;
    });
    return new Promise((resolve, reject) => {
      raw.once("open", () => {
        raw.removeAllListeners("error");
        resolve(new TestWebSocket(raw, headers));
      });
      raw.once("unexpected-response", (_request, response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => {
          reject(new WebSocketUpgradeError(response.statusCode ?? 0, response.headers, body));
          raw.terminate();
        });
        response.on("error", reject);
      });
      raw.on("error", reject);
    });
  }

  /** The subprotocol the server chose, or "". */
  get protocol(): string {
    return this.raw.protocol;
  }

  /** permessage-deflate and other extensions agreed on, as the server's header put them. */
  get extensions(): string {
    return this.raw.extensions;
  }

  /** A string as a text frame, bytes as a binary frame, anything else as JSON text. */
  send(data: unknown): Promise<void> {
    const frame = toFrame(data);
    return new Promise((resolve, reject) => {
      this.raw.send(frame.payload, { binary: frame.binary }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  sendJson(value: unknown): Promise<void> {
    return this.send(stringifyJson(value));
  }

  /** The next message (string for text, Buffer for binary), or undefined once closed. */
  receive(): Promise<InboxMessage | undefined> {
    return this.#inbox.take();
  }

  /** The next message parsed as JSON, or undefined once closed. */
  async receiveJson<T = unknown>(): Promise<T | undefined> {
    const message = await this.#inbox.take();
    if (message === undefined) return undefined;
    return JSON.parse(String(message)) as T;
  }

  /** Starts the closing handshake and resolves once the connection is closed. */
  close(code?: number, reason?: string): Promise<WebSocketCloseInfo> {
    if (this.raw.readyState === WebSocket.OPEN) this.raw.close(code, reason);
    return this.closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<InboxMessage> {
    return {
      next: () =>
        this.#inbox
          .take()
          .then((value) =>
            value === undefined ? { done: true, value: undefined } : { done: false, value },
          ),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }
}
