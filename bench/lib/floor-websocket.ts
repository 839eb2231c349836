import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import type { RequestHead } from "./floor-http.js";

/*
 * The floor servers' WebSocket, by hand: the handshake (RFC 6455 §4.2.2), unmasked server
 * frames built once per message, and on a broadcast socket only what a subscriber sends (a
 * close frame, or a pong): no frame parser.
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const FIN_TEXT = 0x81;
const CLOSE_OPCODE = 0x8;
/** A close frame with code 1000, the answer to a client's close. */
const CLOSE_NORMAL = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

/**
 * The 101 answer to a valid handshake request, or undefined when it is not one (no key, not
 * version 13, no `Upgrade: websocket`): the caller answers 400.
 */
export function handshakeAnswer(head: RequestHead): string | undefined {
  const key = head.headers.get("sec-websocket-key");
  const upgrade = head.headers.get("upgrade")?.toLowerCase();
  if (!key || upgrade !== "websocket" || head.headers.get("sec-websocket-version") !== "13") {
    return undefined;
  }
  const accept = createHash("sha1").update(`${key}${GUID}`).digest("base64");
  return (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${accept}\r\n\r\n`
  );
}

/** A whole text message, header and payload in one Buffer: built once, written to every client. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + length);
  frame[0] = FIN_TEXT;
  if (lengthBytes === 0) frame[1] = length;
  else if (lengthBytes === 2) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, 2 + lengthBytes);
  return frame;
}

/**
 * What a broadcast subscriber sends: a close frame (its first byte's opcode; the client's
 * frames are a few bytes and come in one read) is answered with a close 1000 and the
 * connection ended; anything else (a pong) is ignored.
 */
export function onSubscriberBytes(this: Socket, bytes: Buffer): void {
  if ((bytes[0] & 0x0f) === CLOSE_OPCODE) this.end(CLOSE_NORMAL);
}
