import type { OutgoingHttpHeaders } from "node:http";
import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  IncomingHttpHeaders,
  Settings,
} from "node:http2";
import type { WebSocket } from "ws";
import { clientWebSocketOnStream } from "../websocket/stream-websocket.js";
import { WebSocketUpgradeError } from "./test-websocket.js";

/** @internal What the client end of an h2 WebSocket is opened with. */
export interface H2WebSocketOptions {
  /** Subprotocols to offer, preferred first. */
  protocols?: string[];
  /** More request headers (names lowercase; no connection headers, which h2 forbids). */
  headers?: OutgoingHttpHeaders;
  maxPayload?: number;
  /** Answer the server's pings. Default true. */
  answerPings?: boolean;
  closeTimeout?: number;
}

/**
 * @internal The first SETTINGS the server sent on `session`: call it as the session is made, before
 * that frame can have come. It says whether WebSockets may be opened on the connection.
 */
export function remoteSettings(session: ClientHttp2Session): Promise<Settings> {
  return new Promise((resolve, reject) => {
    session.once("remoteSettings", resolve);
    session.once("close", () => reject(new Error("The h2 session closed before its SETTINGS")));
  });
}

/**
 * @internal Opens a WebSocket on a stream of `session` (RFC 8441: an extended CONNECT, answered 200).
 * Rejects with a WebSocketUpgradeError when the server answers otherwise, and with an Error
 * when the server does not offer WebSockets over h2 (SETTINGS_ENABLE_CONNECT_PROTOCOL).
 */
export async function openH2WebSocket(
  session: ClientHttp2Session,
  settings: Promise<Settings>,
  path: string,
  options: H2WebSocketOptions = {},
): Promise<OpenedH2WebSocket> {
  if (!(await settings).enableConnectProtocol) {
    throw new Error(
      "The server does not offer WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL): listen with http2WebSockets left on",
    );
  }
  const protocols = options.protocols ?? [];
  const stream = session.request(
    {
      ...options.headers,
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":path": path,
      "sec-websocket-version": "13",
      ...(protocols.length > 0 ? { "sec-websocket-protocol": protocols.join(", ") } : {}),
    },
    { endStream: false },
  );
  const head = await responseHead(stream);
  const status = Number(head[":status"]);
  if (status !== 200) throw await refusal(stream, status, head);
  const socket = clientWebSocketOnStream(stream, String(head["sec-websocket-protocol"] ?? ""), {
    maxPayload: options.maxPayload,
    autoPong: options.answerPings ?? true,
    closeTimeout: options.closeTimeout,
  });
  return { socket, headers: withoutPseudoHeaders(head) };
}

/** @internal An h2 WebSocket the server accepted, and the headers of its answer. */
export interface OpenedH2WebSocket {
  socket: WebSocket;
  headers: IncomingHttpHeaders;
}

function responseHead(stream: ClientHttp2Stream): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    stream.once("response", resolve);
    stream.once("error", reject);
    stream.once("close", () =>
      reject(
        new Error(`The server closed the h2 stream before answering (code ${stream.rstCode})`),
      ),
    );
  });
}

async function refusal(
  stream: ClientHttp2Stream,
  status: number,
  head: IncomingHttpHeaders,
): Promise<WebSocketUpgradeError> {
  let body = "";
  stream.setEncoding("utf8");
  for await (const chunk of stream) body += chunk;
  return new WebSocketUpgradeError(status, withoutPseudoHeaders(head), body);
}

function withoutPseudoHeaders(head: IncomingHttpHeaders): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(head)) {
    if (!name.startsWith(":")) headers[name] = value;
  }
  return headers;
}
