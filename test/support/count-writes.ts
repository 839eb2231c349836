import type { Socket } from "node:net";

/**
 * Counts the writes that leave `socket` for the kernel: one per `_write` or `_writev` call
 * (a corked batch is one `_writev`). Observes the server's real socket; nothing is faked.
 */
export function countWrites(socket: Socket): { writes: number } {
  const counter = { writes: 0 };
  const write = socket._write.bind(socket);
  const writev = socket._writev?.bind(socket);
  socket._write = (chunk, encoding, callback) => {
    counter.writes++;
    write(chunk, encoding, callback);
  };
  if (writev) {
    socket._writev = (chunks, callback) => {
      counter.writes++;
      writev(chunks, callback);
    };
  }
  return counter;
}
