import { constants } from "node:http2";
import { isHttp1, type NodeResponse } from "./node-http.js";

/**
 * Ends a response that did not complete, so that the peer knows. A chunked body without its
 * terminator says so by itself (the FIN keeps any data still in flight). A body delimited by
 * the end of the connection (HTTP/1.0 peers, such as nginx's default upstream) would look
 * complete after a FIN, so that connection is reset instead. An h2 stream is reset
 * (RST_STREAM, INTERNAL_ERROR).
 */
export function cutShort(response: NodeResponse): void {
  if (!isHttp1(response)) {
    // h2: a stream reset with an error code, never a clean END_STREAM.
    if (!response.stream.closed) response.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const chunked = (response as typeof response & { chunkedEncoding?: boolean }).chunkedEncoding;
  const socket = response.socket;
  if (!chunked && socket && !socket.destroyed) socket.resetAndDestroy();
  else response.destroy();
}
