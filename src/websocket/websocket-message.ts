import * as ws from "ws";

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}

/** ws builds the frame headers; its type definitions leave `Sender.frame` out. */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] };
};

/** A server's frames: final, unmasked, uncompressed. ws only reads these options. */
const TEXT_FRAME: FrameOptions = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };
const BINARY_FRAME: FrameOptions = { ...TEXT_FRAME, opcode: 2 };
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
  private wire: Buffer | Buffer[] | undefined;

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
    this.wire ??= encodeFrame(this.payload, this.binary);
    return this.wire;
  }
}

/**
 * One unmasked, final, uncompressed frame (what a server sends without an extension): the
 * header ws builds, and the payload copied behind it when small, so the frame leaves in one
 * write; a large payload stays where it is, after its header.
 */
export function encodeFrame(payload: Buffer | string, binary: boolean): Buffer | Buffer[] {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const [header] = Sender.frame(bytes, binary ? BINARY_FRAME : TEXT_FRAME);
  if (bytes.length > COPY_UP_TO_BYTES) return [header, bytes];
  const frame = Buffer.allocUnsafe(header.length + bytes.length);
  header.copy(frame, 0);
  bytes.copy(frame, header.length);
  return frame;
}

/** string -> text frame; bytes -> binary frame; a WebSocketMessage as prepared; else JSON text. */
export function toFrame(data: unknown): OutgoingFrame {
  if (typeof data === "string") return { payload: data, binary: false };
  if (data instanceof WebSocketMessage) return data;
  if (data instanceof Uint8Array) return { payload: asBuffer(data), binary: true };
  if (data instanceof ArrayBuffer) return { payload: Buffer.from(data), binary: true };
  return { payload: stringifyJson(data), binary: false };
}

export function stringifyJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError(`A ${describe(value)} cannot be sent as JSON`);
  }
  return json;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function describe(value: unknown): string {
  return value === null ? "null" : typeof value;
}
