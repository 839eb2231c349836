import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Chunks up to this size are framed into one buffer; larger ones go through response.write. */
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
function directSocket(response: ServerResponse): Socket | undefined {
  const internal = response as ServerResponse & {
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
 * Writes one chunk of the response's body: a small byte buffer straight to the socket,
 * framed once and shared; anything else through the response.
 */
export function writeChunk(response: ServerResponse, chunk: string | Uint8Array): void {
  if (typeof chunk === "string" || chunk.length > FRAME_UP_TO_BYTES) {
    response.write(chunk);
    return;
  }
  const socket = directSocket(response);
  if (!socket) {
    response.write(chunk);
    return;
  }
  let framed = framedChunks.get(chunk);
  if (framed === undefined) {
    framed = frame(chunk);
    framedChunks.set(chunk, framed);
  }
  socket.write(framed);
}

function frame(bytes: Uint8Array): Buffer {
  const sizeLine = `${bytes.length.toString(16)}${CRLF}`;
  const framed = Buffer.allocUnsafe(sizeLine.length + bytes.length + CRLF.length);
  framed.write(sizeLine, 0, "latin1");
  framed.set(bytes, sizeLine.length);
  framed.write(CRLF, sizeLine.length + bytes.length, "latin1");
  return framed;
}

/**
 * True while the response's bytes are not leaving as fast as they come: its own buffer is
 * full, or its socket's (written directly by writeChunk).
 */
export function needsDrain(response: ServerResponse): boolean {
  return response.writableNeedDrain || response.socket?.writableNeedDrain === true;
}
