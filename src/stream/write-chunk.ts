import type { Socket } from "node:net";
import { isHttp1, type NodeResponse, writeBody } from "../http/node-http.js";

/**
 * Chunks up to this size (bytes, or UTF-16 code units of text) are framed into one buffer;
 * larger ones go through response.write.
 */
const FRAME_UP_TO_BYTES = 16 * 1024;
const CRLF = "\r\n";

/**
 * HTTP/1.1 chunks (size line, bytes, CRLF) built once per byte buffer: an SSE event sent to a
 * thousand clients is framed once, and each client's socket gets the same buffer.
 */
const framedChunks = new WeakMap<Uint8Array, Buffer>();

/**
 * The socket a chunk may be written to directly, bypassing ServerResponse.write (four
 * writes and a deferred uncork per chunk): the head is out, the body is chunked, the
 * response owns the socket (not waiting behind a pipelined one) and holds nothing itself.
 */
function directSocket(response: NodeResponse): Socket | undefined {
  // An h2 response has no socket of its own: its DATA frames are Node's to make.
  if (!isHttp1(response)) return undefined;
  const internal = response as typeof response & {
    chunkedEncoding?: boolean;
    outputData?: unknown[];
  };
  const socket = response.socket as (Socket & { _httpMessage?: unknown }) | null;
  if (!socket || !response.headersSent || !internal.chunkedEncoding) return undefined;
  if (socket._httpMessage !== response || (internal.outputData?.length ?? 0) > 0) return undefined;
  if (response.writableEnded || socket.destroyed || !socket.writable) return undefined;
  return socket;
}

/**
 * Writes one chunk of the response's body: small ones straight to the socket, framed here (a
 * `shared` byte buffer, an SSE event sent to many clients, is framed once and the framed
 * bytes kept for the next client); large ones, and any while the socket is not the
 * response's alone, through the response. An empty chunk writes nothing (it would read as
 * the end of the body).
 */
export function writeChunk(
  response: NodeResponse,
  chunk: string | Uint8Array,
  shared = true,
): void {
  if (chunk.length === 0) return;
  const socket = chunk.length <= FRAME_UP_TO_BYTES ? directSocket(response) : undefined;
  if (!socket) {
    writeBody(response, chunk);
    return;
  }
  if (!shared || typeof chunk === "string") {
    socket.write(frame(chunk));
    return;
  }
  let framed = framedChunks.get(chunk);
  if (framed === undefined) {
    framed = frame(chunk);
    framedChunks.set(chunk, framed);
  }
  socket.write(framed);
}

/** Size line, payload (text encoded to UTF-8 in place), CRLF: one buffer. */
function frame(payload: string | Uint8Array): Buffer {
  const text = typeof payload === "string";
  const length = text ? Buffer.byteLength(payload, "utf8") : payload.length;
  const sizeLine = `${length.toString(16)}${CRLF}`;
  const framed = Buffer.allocUnsafe(sizeLine.length + length + CRLF.length);
  framed.write(sizeLine, 0, "latin1");
  if (text) framed.write(payload, sizeLine.length, "utf8");
  else framed.set(payload, sizeLine.length);
  framed.write(CRLF, sizeLine.length + length, "latin1");
  return framed;
}
