import type { Socket } from "node:net";

/**
 * How a floor server writes a prepared message to a socket; false when the socket's buffer
 * is full (wait for 'drain').
 */
export type WriteTo = (socket: Socket, bytes: Buffer) => boolean;

/** floor: each message in its own `socket.write()`, one system call each. */
export const writeNow: WriteTo = (socket, bytes) => socket.write(bytes);

/** The sockets corked during this event-loop turn, uncorked together when it ends. */
const corked: Socket[] = [];
let flushScheduled = false;

/**
 * floor+cork: a socket is corked at its first write of an event-loop turn and uncorked once,
 * with every other socket written in that turn, from one `process.nextTick`: the messages of a
 * burst leave a socket in one writev.
 */
export const writeCorked: WriteTo = (socket, bytes) => {
  corkForTurn(socket);
  return socket.write(bytes);
};

/** Corks `socket` until the end of this event-loop turn, unless it already is. */
export function corkForTurn(socket: Socket): void {
  if (socket.writableCorked) return;
  socket.cork();
  corked.push(socket);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(uncorkAll);
  }
}

function uncorkAll(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}
