// The protocol matrix: the same tests run over HTTP/1.1, HTTPS/1.1, HTTP/2 over TLS and h2c.
// `forEachProtocol` makes one describe() per protocol; `serveOn` starts an app on it and gives
// a client that speaks it: node:http(s) requests on a keep-alive agent for HTTP/1.1, one
// node:http2 session (every request a stream of that one connection) for h2 and h2c;
// WebSockets with the `ws` client over HTTP/1.1, on streams of that session over h2 (RFC 8441).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type Settings,
} from "node:http2";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { after, describe } from "node:test";
import { WebSocket } from "ws";
import type { App, ListenOptions } from "../../src/index.js";
import { openH2WebSocket, remoteSettings } from "../../src/testing/h2-websocket.js";
import { TestWebSocket } from "../../src/testing/index.js";
import { openssl, testCertificate } from "./test-certificate.js";
import { waitFor } from "./wait.js";

export type Protocol = "http/1.1" | "https/1.1" | "h2" | "h2c";
export const PROTOCOLS: readonly Protocol[] = ["http/1.1", "https/1.1", "h2", "h2c"];

export function isHttp2(protocol: Protocol): boolean {
  return protocol === "h2" || protocol === "h2c";
}

function usesTls(protocol: Protocol): boolean {
  return protocol === "https/1.1" || protocol === "h2";
}

/** One describe() per protocol, named after it; TLS ones skipped (outside CI) without openssl. */
export function forEachProtocol(
  protocols: readonly Protocol[],
  body: (protocol: Protocol) => void,
): void {
  for (const protocol of protocols) {
    describe(`over ${protocol}`, { skip: usesTls(protocol) && openssl.skip }, () => body(protocol));
  }
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

/** A response being received, for streams: its head, and its body as it arrives. */
export interface OpenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body received so far, as text. */
  readonly text: string;
  /** Resolves with the text once `check` holds for it. */
  waitForText(check: (text: string) => boolean, what: string, timeout?: number): Promise<string>;
  /** Stops reading (and so, in time, the server's sending), or reads again. */
  pause(): void;
  resume(): void;
  /** Leaves: RST_STREAM (CANCEL) over h2, closing the connection over HTTP/1.1. */
  cancel(): void;
  /** Resolves when the response is over: `complete` false when it was cut short. */
  readonly ended: Promise<{ complete: boolean }>;
}

export interface ProtocolClient {
  readonly protocol: Protocol;
  readonly url: string;
  request(path: string, init?: RequestInit): Promise<Answer>;
  open(path: string, init?: RequestInit): Promise<OpenResponse>;
  /** The h2 session every request goes on (undefined over HTTP/1.1). */
  readonly session: ClientHttp2Session | undefined;
  /**
   * Opens a WebSocket: with the `ws` client over HTTP/1.1 (an upgrade on a connection of its
   * own), on a stream of the one session over h2 (RFC 8441). Rejects with a
   * WebSocketUpgradeError when the server answers the handshake with an HTTP refusal.
   */
  websocket(path: string, init?: WebSocketInit): Promise<TestWebSocket>;
  close(): void;
}

export interface WebSocketInit {
  protocols?: string[];
  headers?: Record<string, string>;
  /** Answer the server's pings. Default true. */
  answerPings?: boolean;
}

/** The `listen()` options for `protocol`, on a free loopback port. */
export async function listenOptions(protocol: Protocol): Promise<ListenOptions> {
  const base = { port: 0, host: "127.0.0.1" };
  if (protocol === "http/1.1") return base;
  if (protocol === "h2c") return { ...base, http2: "cleartext" };
  const { key, cert } = await testCertificate();
  return protocol === "h2"
    ? { ...base, http2: true, tls: { key, cert } }
    : { ...base, tls: { key, cert } };
}

/** Starts `app` on `protocol` and connects a client; both are closed after the file's tests. */
export async function serveOn(app: App, protocol: Protocol): Promise<ProtocolClient> {
  const { url } = await app.listen(await listenOptions(protocol));
  const client = await clientFor(protocol, url);
  after(async () => {
    client.close();
    await app.close();
  });
  return client;
}

/** A client of `protocol` for the app at `url` (trusting the test certificate). */
export async function clientFor(protocol: Protocol, url: string): Promise<ProtocolClient> {
  const ca = usesTls(protocol) ? (await testCertificate()).cert : undefined;
  return isHttp2(protocol)
    ? new Http2Client(protocol, url, ca)
    : new Http1Client(protocol, url, ca);
}

function answerOf(status: number, headers: Answer["headers"], body: Buffer): Answer {
  return {
    status,
    headers,
    body,
    text: () => body.toString("utf8"),
    json: () => JSON.parse(body.toString("utf8")),
  };
}

class Http1Client implements ProtocolClient {
  readonly session = undefined;
  readonly #agent: HttpAgent;
  readonly #ca: Buffer | undefined;

  constructor(
    readonly protocol: Protocol,
    readonly url: string,
    ca: Buffer | undefined,
  ) {
    this.#agent = ca ? new HttpsAgent({ keepAlive: true, ca }) : new HttpAgent({ keepAlive: true });
    this.#ca = ca;
  }

  #send(path: string, init: RequestInit): Promise<IncomingMessage> {
    const send = this.protocol === "https/1.1" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(`${this.url}${path}`, {
        method: init.method ?? "GET",
        headers: init.headers,
        agent: this.#agent,
      });
      request.on("response", resolve);
      request.on("error", reject);
      request.end(init.body);
    });
  }

  async request(path: string, init: RequestInit = {}): Promise<Answer> {
    const message = await this.#send(path, init);
    const chunks: Buffer[] = [];
    for await (const chunk of message) chunks.push(chunk as Buffer);
    return answerOf(message.statusCode ?? 0, message.headers, Buffer.concat(chunks));
  }

  async open(path: string, init: RequestInit = {}): Promise<OpenResponse> {
    const message = await this.#send(path, init);
    const ended = new Promise<{ complete: boolean }>((resolve) =>
      message.once("close", () => resolve({ complete: message.complete })),
    );
    return received(message, {
      status: message.statusCode ?? 0,
      headers: message.headers,
      pause: () => message.pause(),
      resume: () => message.resume(),
      cancel: () => message.destroy(),
      ended,
    });
  }

  websocket(path: string, init: WebSocketInit = {}): Promise<TestWebSocket> {
    const url = `${this.url.replace(/^http/, "ws")}${path}`;
    const raw = new WebSocket(url, init.protocols ?? [], {
      headers: init.headers,
      ca: this.#ca,
      autoPong: init.answerPings ?? true,
      closeTimeout: 2000,
    } as WebSocket.ClientOptions);
    return TestWebSocket.opening(raw);
  }

  close(): void {
    this.#agent.destroy();
  }
}

class Http2Client implements ProtocolClient {
  readonly session: ClientHttp2Session;
  readonly #settings: Promise<Settings>;

  constructor(
    readonly protocol: Protocol,
    readonly url: string,
    ca: Buffer | undefined,
  ) {
    this.session = connect(url, ca ? { ca } : {});
    this.#settings = remoteSettings(this.session);
    this.#settings.catch(() => {});
    this.session.on("error", () => {}); // a session the server ends on close: seen as 'close'
  }

  async websocket(path: string, init: WebSocketInit = {}): Promise<TestWebSocket> {
    const { socket, headers } = await openH2WebSocket(this.session, this.#settings, path, {
      protocols: init.protocols,
      headers: init.headers,
      answerPings: init.answerPings,
      closeTimeout: 2000,
    });
    return TestWebSocket.wrap(socket, headers);
  }

  #send(path: string, init: RequestInit): ClientHttp2Stream {
    const stream = this.session.request({
      ":method": init.method ?? "GET",
      ":path": path,
      ...init.headers,
    });
    stream.end(init.body);
    return stream;
  }

  #head(stream: ClientHttp2Stream): Promise<IncomingHttpHeaders> {
    return new Promise((resolve, reject) => {
      stream.once("response", resolve);
      stream.once("error", reject);
      stream.once("close", () =>
        reject(new Error(`stream closed before its response (code ${stream.rstCode})`)),
      );
    });
  }

  async request(path: string, init: RequestInit = {}): Promise<Answer> {
    const stream = this.#send(path, init);
    const head = await this.#head(stream);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return answerOf(Number(head[":status"]), withoutPseudo(head), Buffer.concat(chunks));
  }

  async open(path: string, init: RequestInit = {}): Promise<OpenResponse> {
    const stream = this.#send(path, init);
    const head = await this.#head(stream);
    let endedCleanly = false;
    stream.once("end", () => {
      endedCleanly = true;
    });
    const ended = new Promise<{ complete: boolean }>((resolve) =>
      stream.once("close", () =>
        resolve({ complete: endedCleanly && stream.rstCode === constants.NGHTTP2_NO_ERROR }),
      ),
    );
    return received(stream, {
      status: Number(head[":status"]),
      headers: withoutPseudo(head),
      pause: () => stream.pause(),
      resume: () => stream.resume(),
      cancel: () => stream.close(constants.NGHTTP2_CANCEL),
      ended,
    });
  }

  close(): void {
    this.session.destroy();
  }
}

function withoutPseudo(head: IncomingHttpHeaders): Answer["headers"] {
  const headers: Answer["headers"] = {};
  for (const [name, value] of Object.entries(head)) {
    if (!name.startsWith(":")) headers[name] = value as string | string[] | undefined;
  }
  return headers;
}

/** An OpenResponse that gathers `body`'s text as it arrives. */
function received(
  body: NodeJS.ReadableStream,
  parts: Omit<OpenResponse, "text" | "waitForText">,
): OpenResponse {
  let text = "";
  body.setEncoding("utf8");
  body.on("data", (chunk: string) => {
    text += chunk;
  });
  body.on("error", () => {});
  return {
    ...parts,
    get text() {
      return text;
    },
    async waitForText(check, what, timeout = 3000) {
      await waitFor(() => check(text), what, timeout);
      return text;
    },
  };
}
