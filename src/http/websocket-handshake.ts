import type { Http2ServerRequest } from "node:http2";
import { isHttp2Request, type NodeRequest } from "./node-http.js";

/**
 * True for a request that opens a WebSocket, over either protocol: HTTP/1.1's
 * `Upgrade: websocket`, or HTTP/2's extended CONNECT with `:protocol: websocket` (RFC 8441),
 * which has no Upgrade header.
 */
export function isWebSocketHandshake(raw: NodeRequest): boolean {
  if (isHttp2Request(raw)) return isH2WebSocketConnect(raw);
  const upgrade = raw.headers.upgrade;
  return typeof upgrade === "string" && upgrade.trim().toLowerCase() === "websocket";
}

/** True for an h2 extended CONNECT that asks for a WebSocket (RFC 8441 §4). */
export function isH2WebSocketConnect(raw: NodeRequest): raw is Http2ServerRequest {
  return (
    isHttp2Request(raw) &&
    raw.method === "CONNECT" &&
    raw.headers[":protocol"]?.toString().toLowerCase() === "websocket"
  );
}
