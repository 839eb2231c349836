import type { Duplex } from "node:stream";
import { WebSocket, type WebSocketServer } from "ws";
import type { LinkedWebSocket } from "./linked-websocket.js";

/**
 * The part of `ws`'s WebSocket its own server and client use once a handshake is done, and
 * which sluice uses to run a WebSocket over an HTTP/2 stream (RFC 8441): `setSocket` takes
 * any Duplex (ws says so where it calls `setTimeout`/`setNoDelay` only if present), and the
 * two fields the handshake sets. Nothing else of ws's internals is touched; framing, limits,
 * ping/pong and the close handshake stay ws's own.
 */
interface WebSocketInternals {
  _isServer: boolean;
  _protocol: string;
  setSocket(socket: Duplex, head: Buffer, options: FramingOptions): void;
}

interface FramingOptions {
  allowSynchronousEvents?: boolean;
  maxBufferedChunks?: number;
  maxFragments?: number;
  maxPayload?: number;
  skipUTF8Validation?: boolean;
}

/** ws's WebSocket (or a subclass) as made for a handshake already done: no address. */
type AfterHandshake<T> = new (address: null, protocols: undefined, options: unknown) => T;

const NOTHING_READ_YET = Buffer.alloc(0);

/** ws's own default for its clients: how long a close waits for the peer's answer. */
const DEFAULT_CLIENT_CLOSE_TIMEOUT_MS = 30_000;

/**
 * @internal The server end of a WebSocket on `stream`, made and configured as the route's ws server
 * makes the sockets of its HTTP/1.1 handshakes (same class, limits, close timeout), with
 * `protocol` agreed on. No extension is agreed on (see docs: no permessage-deflate over h2).
 */
export function serverWebSocketOnStream(
  server: WebSocketServer,
  stream: Duplex,
  protocol: string | undefined,
): LinkedWebSocket {
  const { options } = server;
  const SocketClass = (options.WebSocket ??
    WebSocket) as unknown as AfterHandshake<LinkedWebSocket>;
  const ws = new SocketClass(null, undefined, options);
  const internals = ws as unknown as WebSocketInternals;
  if (protocol !== undefined) internals._protocol = protocol;
  internals.setSocket(stream, NOTHING_READ_YET, options as FramingOptions);
  return ws;
}

/** @internal What a client end needs: its close timeout, and the largest message it takes. */
export interface ClientStreamOptions {
  closeTimeout?: number;
  maxPayload?: number;
  /** Answer pings (default true). */
  autoPong?: boolean;
}

/**
 * @internal The client end of a WebSocket on an h2 stream whose extended CONNECT the server accepted:
 * it masks what it sends and expects unmasked frames, as a client does (RFC 6455 §5.1).
 */
export function clientWebSocketOnStream(
  stream: Duplex,
  protocol: string,
  options: ClientStreamOptions = {},
): WebSocket {
  const ClientClass = WebSocket as unknown as AfterHandshake<WebSocket>;
  const ws = new ClientClass(null, undefined, {
    autoPong: options.autoPong ?? true,
    maxPendingAutoPongs: 60,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLIENT_CLOSE_TIMEOUT_MS,
  });
  const internals = ws as unknown as WebSocketInternals;
  internals._isServer = false;
  internals._protocol = protocol;
  internals.setSocket(stream, NOTHING_READ_YET, {
    allowSynchronousEvents: true,
    maxPayload: options.maxPayload ?? 100 * 1024 * 1024,
  });
  return ws;
}
