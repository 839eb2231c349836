import { stringifyJson } from "../util/json.js";

/** A server's frames are final, unmasked and uncompressed: FIN set, no RSV bits, no mask. */
const FIN = 0x80;
const TEXT_OPCODE = 0x1;
const BINARY_OPCODE = 0x2;
/** Payloads up to this size are copied behind their header, so a frame is one write. */
const COPY_UP_TO_BYTES = 16 * 1024;

/** What goes into one frame: the payload and whether it is a binary frame. */
export interface OutgoingFrame {
  readonly payload: Buffer | string;
  readonly binary: boolean;
}

/**
 * A message encoded once, to send to many sockets: `WebSocketMessage.json(value)` stringifies
 * and encodes to UTF-8 here, so a broadcast to a thousand sockets does it once, not a
 * thousand times.
 */
export class WebSocketMessage implements OutgoingFrame {
  readonly payload: Buffer;
  readonly binary: boolean;
  #wire: Buffer | Buffer[] | undefined;

  private constructor(payload: Buffer, binary: boolean) {
    this.payload = payload;
    this.binary = binary;
  }

  /** A text frame. */
  static text(text: string): WebSocketMessage {
    if (typeof text !== "string") {
      throw new TypeError(`WebSocketMessage.text() takes a string, got ${describe(text)}`);
    }
    return new WebSocketMessage(Buffer.from(text, "utf8"), false);
  }

  /** A text frame holding the value as JSON. */
  static json(value: unknown): WebSocketMessage {
    return new WebSocketMessage(Buffer.from(stringifyJson(value), "utf8"), false);
  }

  /** A binary frame. The bytes are not copied: do not change them while sends are queued. */
  static binary(bytes: Uint8Array | ArrayBuffer): WebSocketMessage {
    if (bytes instanceof ArrayBuffer) return new WebSocketMessage(Buffer.from(bytes), true);
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`WebSocketMessage.binary() takes bytes, got ${describe(bytes)}`);
    }
    return new WebSocketMessage(asBuffer(bytes), true);
  }

  /** Payload length in bytes. */
  get byteLength(): number {
    return this.payload.length;
  }

  /** @internal the whole frame as it goes on the wire, built on first use and then shared. */
  get frame(): Buffer | Buffer[] {
    this.#wire ??= encodeFrame(this.payload, this.binary);
    return this.#wire;
  }
}

/**
 * One unmasked, final, uncompressed frame (what a server sends without an extension): a small
 * payload is encoded (or copied) straight behind its header, so the frame is one buffer and
 * one write; a large one stays where it is, after its header. Only the header is written
 * here (RFC 6455 section 5.2, a few bytes); ws does all the reading.
 */
export function encodeFrame(payload: Buffer | string, binary: boolean): Buffer | Buffer[] {
  const opcode = binary ? BINARY_OPCODE : TEXT_OPCODE;
  const text = typeof payload === "string";
  const length = text ? Buffer.byteLength(payload, "utf8") : payload.length;
  if (length > COPY_UP_TO_BYTES) {
    const header = Buffer.allocUnsafe(headerLength(length));
    writeHeader(header, opcode, length);
    return [header, text ? Buffer.from(payload, "utf8") : payload];
  }
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  const at = writeHeader(frame, opcode, length);
  if (text) frame.write(payload, at, "utf8");
  else payload.copy(frame, at);
  return frame;
}

/** The header's size: a 7-bit length, or 126 and 16 bits, or 127 and 64 bits. */
function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65_536 ? 4 : 10;
}

/** Writes the header at the start of `target`; returns where the payload goes. */
function writeHeader(target: Buffer, opcode: number, payloadLength: number): number {
  target[0] = FIN | opcode;
  if (payloadLength < 126) {
    target[1] = payloadLength;
    return 2;
  }
  if (payloadLength < 65_536) {
    target[1] = 126;
    target.writeUInt16BE(payloadLength, 2);
    return 4;
  }
  target[1] = 127;
  target.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
  target.writeUInt32BE(payloadLength >>> 0, 6);
  return 10;
}

/** string -> text frame; bytes -> binary frame; a WebSocketMessage as prepared; else JSON text. */
export function toFrame(data: unknown): OutgoingFrame {
  if (typeof data === "string") return { payload: data, binary: false };
  if (data instanceof WebSocketMessage) return data;
  if (data instanceof Uint8Array) return { payload: asBuffer(data), binary: true };
  if (data instanceof ArrayBuffer) return { payload: Buffer.from(data), binary: true };
  return { payload: stringifyJson(data), binary: false };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function describe(value: unknown): string {
  return value === null ? "null" : typeof value;
}
