const HEAD_END = Buffer.from("\r\n\r\n");
const STATUS_OK = "HTTP/1.1 200 ";

export function firstLine(text: string): string {
  const end = text.indexOf("\r\n");
  return end === -1 ? text : text.slice(0, end);
}

export function getRequest(path: string, close = false): Buffer {
  const connection = close ? "Connection: close\r\n" : "";
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${connection}\r\n`, "latin1");
}

const CHUNKED = /\r\ntransfer-encoding: *chunked\r\n/i;

/**
 * The head of a streamed response as its bytes arrive: `before` (what came so far) and
 * `chunk` (a read, maybe of a shared buffer) are joined into a copy. Returns the bytes to keep
 * while the head is incomplete, the body bytes that followed it once it is a 200 with a
 * chunked body, or the error that says what came instead.
 */
export function readStreamHead(
  before: Buffer,
  chunk: Buffer,
): { pending: Buffer } | { body: Buffer } | { error: Error } {
  const buffer = Buffer.concat([before, chunk]);
  const headEnd = buffer.indexOf(HEAD_END);
  if (headEnd === -1) return { pending: buffer };
  const head = buffer.toString("latin1", 0, headEnd + 2);
  if (!head.startsWith(STATUS_OK) || !CHUNKED.test(head))
    return { error: new Error(`unexpected SSE response head: ${firstLine(head)}`) };
  return { body: buffer.subarray(headEnd + HEAD_END.length) };
}
