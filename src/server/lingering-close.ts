import type { Socket } from "node:net";

/** How long a closing connection keeps reading (and discarding) what the client still sends. */
export const LINGER_MS = 2000;

const lingering = new WeakSet<Socket>();

/**
 * Closing a socket while the client is still sending makes the kernel answer with a reset, and a
 * reset can wipe out the response the client has not read yet (it sees an empty reply instead of
 * our 413 or our answer). Like nginx's lingering close: once the response is out, send FIN, keep
 * reading and discarding for a while, then close.
 *
 * Node closes a `connection: close` socket through `socket.destroySoon()` once the response is
 * finished; this replaces that one call for this one socket.
 */
export function lingerBeforeClosing(socket: Socket, lingerMs = LINGER_MS): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    if (this.writable) this.end();
    if (this.destroyed) return;
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
    // The client half-closes (or closes) once it has read the answer: nothing left to wait for.
    this.once("end", () => this.destroy());
  };
}
