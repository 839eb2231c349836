// WebSockets on streams of a node:http2 client session, with the stream at hand (to reset it
// as a leaving client does), and CONNECT requests with any pseudo-headers (the malformed
// handshakes sluice's own client helper will not send).
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Settings,
} from "node:http2";
import { remoteSettings } from "../../src/testing/h2-websocket.js";
import { TestWebSocket } from "../../src/testing/index.js";
import { clientWebSocketOnStream } from "../../src/websocket/stream-websocket.js";
import { testCertificate } from "./test-certificate.js";
import { within } from "./wait.js";

/** A node:http2 session to `url` (trusting the test certificate), with the server's SETTINGS. */
export async function h2Session(
  url: string,
): Promise<{ session: ClientHttp2Session; settings: Settings }> {
  const ca = url.startsWith("https:") ? (await testCertificate()).cert : undefined;
  const session = connect(url, ca ? { ca } : {});
  session.on("error", () => {}); // seen as 'close'
  const settings = await within(remoteSettings(session), "the server's SETTINGS");
  return { session, settings };
}

export interface ConnectAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends a CONNECT with exactly `headers` (pseudo-headers included) and reads the answer. */
export async function connectRequest(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
): Promise<ConnectAnswer> {
  const stream = session.request({ ":method": "CONNECT", ...headers }, { endStream: false });
  const head = await responseHead(stream);
  stream.setEncoding("utf8");
  stream.end();
  let body = "";
  for await (const chunk of stream) body += chunk;
  return { status: Number(head[":status"]), headers: head, body };
}

/** A WebSocket on a stream of `session`, and that stream. */
export interface WebSocketStream {
  stream: ClientHttp2Stream;
  socket: TestWebSocket;
}

/**
 * Opens a WebSocket on `path` over an RFC 8441 extended CONNECT, on a session whose SETTINGS
 * came (one made by h2Session, or that has been answered); rejects unless answered 200.
 */
export async function openWebSocketStream(
  session: ClientHttp2Session,
  path: string,
): Promise<WebSocketStream> {
  // Not sent unless offered: node:http2's client (Node 20.20) spins forever in session.destroy()
  // after such a CONNECT is reset while another stream of the session is open.
  if (!session.remoteSettings.enableConnectProtocol) {
    throw new Error("The server's SETTINGS do not offer WebSockets over HTTP/2");
  }
  const stream = session.request(
    {
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":path": path,
      "sec-websocket-version": "13",
    },
    { endStream: false },
  );
  // Bounded: node:http2 holds back a CONNECT with :protocol the server did not offer.
  const head = await within(responseHead(stream), `the answer to a WebSocket CONNECT on ${path}`);
  if (Number(head[":status"]) !== 200) throw new Error(`the CONNECT got ${head[":status"]}`);
  const raw = clientWebSocketOnStream(stream, "", { closeTimeout: 2000 });
  return { stream, socket: TestWebSocket.wrap(raw, head) };
}

function responseHead(stream: ClientHttp2Stream): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    stream.once("response", resolve);
    stream.once("error", reject);
    stream.once("close", () =>
      reject(new Error(`the stream closed before its answer (code ${stream.rstCode})`)),
    );
  });
}
