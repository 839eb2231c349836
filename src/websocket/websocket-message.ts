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
