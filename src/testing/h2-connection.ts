import type { OutgoingHttpHeaders } from "node:http";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type Settings,
} from "node:http2";
import { openH2WebSocket, remoteSettings } from "./h2-websocket.js";
import { type RequestOptions, requestParts } from "./http-exchange.js";
import { type ReceivedResponse, receivedOverHttp2 } from "./received-response.js";
import { CLOSE_TIMEOUT_MS, TestWebSocket, type WebSocketConnectOptions } from "./test-websocket.js";

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2): the connection's own business in HTTP/1.1. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/**
 * TestClient's one h2 connection (cleartext, with prior knowledge): every request, and every
 * stream, is a stream of it, as a browser's are.
 */
export class H2Connection {
  readonly #session: ClientHttp2Session;
  readonly #settings: Promise<Settings>;

  constructor(url: string) {
    this.#session = connect(url);
    this.#settings = remoteSettings(this.#session);
    this.#settings.catch(() => {}); // a session that closes early fails its requests instead
    // Its failures reach the streams on it; the session's own 'error' must not crash the test.
    this.#session.on("error", () => {});
  }

  /** Opens a WebSocket on a stream of the connection (RFC 8441), as a browser does over h2. */
  async websocket(path: string, options: WebSocketConnectOptions): Promise<TestWebSocket> {
    const { socket, headers } = await openH2WebSocket(this.#session, this.#settings, path, {
      protocols: options.protocols,
      headers: h2Headers(options.headers ?? {}),
      maxPayload: options.maxPayload,
      answerPings: options.answerPings,
      closeTimeout: CLOSE_TIMEOUT_MS,
    });
    return TestWebSocket.wrap(socket, headers);
  }

  /** Sends one request; resolves when the response head arrives. */
  exchange(method: string, path: string, options: RequestOptions): Promise<ReceivedResponse> {
    const { target, headers, body } = requestParts(path, options);
    // Node ends a GET's stream at once unless told it has a body (endStream).
    const stream = this.#session.request(
      { ...h2Headers(headers), ":method": method.toUpperCase(), ":path": target },
      { endStream: body === undefined },
    );
    stream.end(body);
    return new Promise((resolve, reject) => {
      stream.once("response", (head) => resolve(receivedOverHttp2(stream, head)));
      stream.once("error", reject);
      stream.once("close", () => reject(closedBeforeResponse(stream)));
    });
  }

  close(): void {
    this.#session.close();
  }
}

function h2Headers(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const result: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (CONNECTION_HEADERS.has(key)) continue;
    result[key === "host" ? ":authority" : key] = value;
  }
  return result;
}

function closedBeforeResponse(stream: ClientHttp2Stream): Error {
  return new Error(`The server closed the h2 stream before answering (code ${stream.rstCode})`);
}
