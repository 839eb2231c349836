import type { Socket } from "node:net";
import * as ws from "ws";

/*
 * The floor's WebSocket echo: `ws`'s own frame reader and writer (its Receiver and Sender
 * classes, exported by the package but not typed by @types/ws), without its WebSocket class
 * and server around them: no frame parser of ours.
 */

/** The largest message read, as `ws`'s default (100 MiB). */
const MAX_PAYLOAD = 100 * 1024 * 1024;

/** A Writable stream of the bytes a client sends, emitting what they mean. */
interface Receiver {
  write(chunk: Buffer): boolean;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: "conclude", listener: (code: number, reason: Buffer) => void): this;
  on(event: "ping" | "pong", listener: (data: Buffer) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
}

interface Sender {
  send(
    data: Buffer,
    options: { binary: boolean; fin: boolean; mask: boolean; compress: boolean },
  ): void;
  pong(data: Buffer, mask: boolean): void;
  close(code: number | undefined, reason: Buffer, mask: boolean, done: () => void): void;
}

const { Receiver, Sender } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => Receiver;
  Sender: new (socket: Socket) => Sender;
};

/** No close code in the client's close frame: 1005, answered with an empty close. */
const NO_STATUS = 1005;

/**
 * Sends back each message of `socket` as it came (text or binary), answers pings and a close;
 * `before` runs before each write (floor+cork corks the socket for the turn there).
 * `rest`: bytes that came after the handshake request.
 */
export function echoOn(socket: Socket, rest: Buffer, before: (socket: Socket) => void): void {
  const receiver = new Receiver({ isServer: true, maxPayload: MAX_PAYLOAD });
  const sender = new Sender(socket);
  const options = { binary: false, fin: true, mask: false, compress: false };
  receiver.on("message", (data, isBinary) => {
    before(socket);
    options.binary = isBinary;
    sender.send(data, options);
  });
  receiver.on("ping", (data) => sender.pong(data, false));
  receiver.on("conclude", (code, reason) => {
    sender.close(code === NO_STATUS ? undefined : code, reason, false, () => socket.end());
  });
  receiver.on("error", () => socket.destroy()); // a protocol error: the connection is cut
  socket.on("data", (chunk: Buffer) => receiver.write(chunk));
  if (rest.length > 0) receiver.write(rest);
}
