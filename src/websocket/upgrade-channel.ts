import type { ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

/**
 * Where an admitted handshake becomes a WebSocket: the HTTP/1.1 connection Node handed over
 * with its 'upgrade' event (and what it had read past the head), or the HTTP/2 stream of an
 * extended CONNECT (RFC 8441), the other streams of its connection going on beside it.
 */
export type UpgradeChannel =
  | { readonly kind: "http1"; readonly socket: Socket; readonly head: Buffer }
  | { readonly kind: "h2"; readonly stream: ServerHttp2Stream };

/** The byte stream the WebSocket's frames travel on. */
export function transportOf(channel: UpgradeChannel): Duplex {
  return channel.kind === "http1" ? channel.socket : channel.stream;
}
