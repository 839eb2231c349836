import type { ServerResponse } from "node:http";

/**
 * Ends a response that did not complete, so that the peer knows. A chunked body without its
 * terminator says so by itself (the FIN keeps any data still in flight). A body delimited by
 * the end of the connection (HTTP/1.0 peers, such as nginx's default upstream) would look
 * complete after a FIN, so that connection is reset instead.
 */
export function cutShort(response: ServerResponse): void {
  const chunked = (response as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding;
  const socket = response.socket;
  if (!chunked && socket && !socket.destroyed) socket.resetAndDestroy();
  else response.destroy();
}
