import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { type ClientHttp2Stream, constants } from "node:http2";
import type { Readable } from "node:stream";

/**
 * A response head and its body as TestClient receives them, over HTTP/1.1 (node:http's
 * IncomingMessage) or h2 (a node:http2 client stream): what TestStream reads.
 */
export interface ReceivedResponse {
  readonly statusCode: number;
  /** Lower-case names, without h2's pseudo-headers (`:status`). */
  readonly headers: IncomingHttpHeaders;
  /** The body as it arrives. */
  readonly body: Readable;
  /** True once the server ended the response cleanly. */
  readonly complete: boolean;
  /** Leaves mid-response: closes the connection (HTTP/1.1) or resets the stream (h2, CANCEL). */
  disconnect(): Promise<void>;
  /** Called once the response's connection (HTTP/1.1) or stream (h2) has closed. */
  onClose(listener: () => void): void;
}

/** An HTTP/1.1 response: its socket is its own (TestClient streams get a connection each). */
export function receivedOverHttp1(message: IncomingMessage): ReceivedResponse {
  return {
    statusCode: message.statusCode ?? 0,
    headers: message.headers,
    body: message,
    get complete() {
      return message.complete;
    },
    disconnect() {
      const socket = message.socket;
      if (!socket || socket.destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.destroy();
      });
    },
    onClose(listener) {
      message.socket.once("close", listener);
    },
  };
}

/** An h2 response, one stream of the client's session. */
export function receivedOverHttp2(
  stream: ClientHttp2Stream,
  head: IncomingHttpHeaders,
): ReceivedResponse {
  let ended = false;
  stream.once("end", () => {
    ended = true;
  });
  const headers: IncomingHttpHeaders = {};
  for (const name of Object.keys(head)) if (!name.startsWith(":")) headers[name] = head[name];
  return {
    statusCode: Number(head[":status"]),
    headers,
    body: stream,
    get complete() {
      return ended && (stream.rstCode ?? constants.NGHTTP2_NO_ERROR) === constants.NGHTTP2_NO_ERROR;
    },
    disconnect() {
      if (stream.closed) return Promise.resolve();
      return new Promise<void>((resolve) => stream.close(constants.NGHTTP2_CANCEL, resolve));
    },
    onClose(listener) {
      stream.once("close", listener);
    },
  };
}

/**
 * A stream the server reset (h2 RST_STREAM with an error) fails as a connection the server
 * cut does over HTTP/1.1: code ECONNRESET, the h2 error kept as its cause.
 */
export function streamResetAsConnectionReset(error: unknown): unknown {
  if ((error as { code?: unknown } | null)?.code !== "ERR_HTTP2_STREAM_ERROR") return error;
  const reset = new Error(`The server reset the stream: ${(error as Error).message}`, {
    cause: error,
  });
  return Object.assign(reset, { code: "ECONNRESET" });
}
