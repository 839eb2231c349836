import type { Socket } from "node:net";

/*
 * The floor servers' HTTP/1.1, by hand: just enough of a request head to route it (method,
 * path, query, the few headers a WebSocket handshake needs) and fixed response heads. No
 * bodies are read: the benchmark's requests (GETs and body-less POSTs) have none.
 */

const HEAD_END = Buffer.from("\r\n\r\n");
/** A head longer than this is refused (431), so a client cannot grow a buffer without end. */
const MAX_HEAD_BYTES = 8 * 1024;

export interface RequestHead {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-cased names; the last value of a repeated header. */
  headers: Map<string, string>;
}

/** A complete head, what followed it, or where a head is not complete yet: the bytes so far. */
export type HeadRead =
  | { head: RequestHead; rest: Buffer }
  | { pending: Buffer }
  | { error: "too large" | "malformed" };

/** Reads the head at the start of `bytes` (what came so far on a connection). */
export function readRequestHead(bytes: Buffer): HeadRead {
  const end = bytes.indexOf(HEAD_END);
  if (end === -1)
    return bytes.length > MAX_HEAD_BYTES ? { error: "too large" } : { pending: bytes };
  const [requestLine = "", ...lines] = bytes.toString("latin1", 0, end).split("\r\n");
  const [method, target, version] = requestLine.split(" ");
  if (!method || !target?.startsWith("/") || !version?.startsWith("HTTP/1.")) {
    return { error: "malformed" };
  }
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const question = target.indexOf("?");
  const path = question === -1 ? target : target.slice(0, question);
  const query = new URLSearchParams(question === -1 ? "" : target.slice(question + 1));
  return { head: { method, path, query, headers }, rest: bytes.subarray(end + HEAD_END.length) };
}

/** A complete response with a JSON body; the connection stays open for the next request. */
export function writeJson(socket: Socket, body: unknown): void {
  const text = JSON.stringify(body);
  socket.write(
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: keep-alive\r\n\r\n${text}`,
  );
}

/** A body-less response, e.g. 204 No Content; `close` ends the connection after it. */
export function writeEmpty(socket: Socket, status: string, close = false): void {
  const head = `HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: ${close ? "close" : "keep-alive"}\r\n\r\n`;
  if (close) socket.end(head);
  else socket.write(head);
}

/** The head of an event stream, chunked as node:http sends it (the load client reads chunks). */
export const SSE_HEAD = Buffer.from(
  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
    "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
  "latin1",
);

/** One SSE event as one chunk of the body: `<size in hex>\r\n<event>\r\n`, built once. */
export function sseChunk(frame: string): Buffer {
  const size = Buffer.byteLength(frame);
  return Buffer.from(`${size.toString(16)}\r\n${frame}\r\n`);
}
