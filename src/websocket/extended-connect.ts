import { HttpError } from "../http/http-error.js";
import type { NodeRequest } from "../http/node-http.js";
import { isH2WebSocketConnect } from "../http/websocket-handshake.js";

/**
 * Why an h2 CONNECT cannot become a WebSocket, as the HTTP error that answers it; undefined
 * for a well-formed RFC 8441 handshake. sluice is no proxy (a plain CONNECT is not served),
 * * serves no other protocol over extended CONNECT (both 501: a method or protocol not served
 * for any resource, as RFC 9110 §15.6.2 and RFC 9220 §3 have it), and speaks
 * WebSocket version 13 only (RFC 6455 §4.4: the answer names the version it speaks).
 */
export function extendedConnectProblem(raw: NodeRequest): HttpError | undefined {
  const protocol = raw.headers[":protocol"];
  if (protocol === undefined) {
    return new HttpError(501, "CONNECT is not served here: this server is not a proxy");
  }
  if (!isH2WebSocketConnect(raw)) {
    return new HttpError(501, `The extended CONNECT protocol "${protocol}" is not served here`);
  }
  if (raw.headers["sec-websocket-version"] !== "13") {
    return new HttpError(
      400,
      "Missing or unsupported Sec-WebSocket-Version: 13 is spoken here",
      undefined,
      {
        headers: { "sec-websocket-version": "13" },
      },
    );
  }
  return undefined;
}
