import { once } from "node:events";
import { connect } from "node:net";
import { openWindow, type Window } from "./cpu.js";
import { firstLine, getRequest } from "./http-response.js";

const TERMINATOR = Buffer.from("0\r\n\r\n");
const STATUS_OK = Buffer.from("HTTP/1.1 200 ");

export interface StreamResult {
  /** Bytes on the wire: status line, headers, chunk framing and payload. */
  wireBytes: number;
  window: Window;
}

/**
 * Fetches one chunked response over a raw socket, counting bytes until the last-chunk
 * marker. Only the tail of the stream is looked at, so the client costs next to nothing.
 */
export async function fetchStream(port: number, pid: number, path: string): Promise<StreamResult> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  const closeWindow = openWindow(pid);
  socket.write(getRequest(path, true));
  return new Promise((resolve, reject) => {
    let wireBytes = 0;
    let tail: Buffer = Buffer.alloc(0);
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve({ wireBytes, window: closeWindow() });
    };
    socket.on("data", (chunk: Buffer) => {
      if (wireBytes === 0 && !startsWith(chunk, STATUS_OK)) {
        return settle(new Error(`unexpected response: ${firstLine(chunk.toString("latin1"))}`));
      }
      wireBytes += chunk.length;
      tail = lastBytes(tail, chunk, TERMINATOR.length);
      if (tail.equals(TERMINATOR)) settle();
    });
    socket.once("error", settle);
    socket.once("close", () => settle(new Error("stream closed before its last chunk")));
  });
}

function startsWith(chunk: Buffer, prefix: Buffer): boolean {
  return chunk.length >= prefix.length && chunk.subarray(0, prefix.length).equals(prefix);
}

/** The last `count` bytes of `previous` followed by `chunk`. */
function lastBytes(previous: Buffer, chunk: Buffer, count: number): Buffer {
  if (chunk.length >= count) return chunk.subarray(chunk.length - count);
  const joined = Buffer.concat([previous, chunk]);
  return joined.subarray(Math.max(0, joined.length - count));
}
