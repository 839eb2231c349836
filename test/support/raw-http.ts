import { connect, type Socket } from "node:net";

/**
 * Sends raw bytes on a fresh socket and resolves with everything the server answered, once it
 * closes the connection or `until(received)` says the answer is complete.
 */
export function rawExchange(
  port: number,
  payload: string | Buffer,
  until: (received: string) => boolean = () => false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (data) => {
      received += data;
      if (until(received)) socket.end();
    });
    socket.on("close", () => resolve(received));
    socket.on("error", (error) => (received ? resolve(received) : reject(error)));
    socket.write(payload);
  });
}

/** The port of a base URL such as TestClient's `url`. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Counts the chunks of a chunked HTTP/1.1 response and joins their payloads. */
export function decodeChunked(raw: string): { chunks: number; body: string } {
  let offset = raw.indexOf("\r\n\r\n") + 4;
  let chunks = 0;
  let body = "";
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", offset);
    const size = Number.parseInt(raw.slice(offset, lineEnd), 16);
    if (size === 0) return { chunks, body };
    body += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    offset = lineEnd + 2 + size + 2;
    chunks++;
  }
}

/** A raw connection that collects what the server sends; errors are ignored (tests look at what arrived). */
export function openSocket(port: number): { socket: Socket; received: () => string } {
  const socket = connect(port, "127.0.0.1");
  let received = "";
  socket.setEncoding("latin1");
  socket.on("data", (data: string) => {
    received += data;
  });
  socket.on("error", () => {});
  return { socket, received: () => received };
}
