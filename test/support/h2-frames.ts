// HTTP/2 written by hand, for what node:http2's client will not send (streams past the
// server's limit, CONTINUATION without end, floods that never read the answers): the
// connection preface, then frames of a 9-byte header (24-bit length, type, flags, 31-bit
// stream id) and payload (RFC 9113 §4.1). Request headers are HPACK literals without
// indexing (RFC 7541 §6.2.2), so no compression state has to be kept.
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { waitFor } from "./wait.js";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** A SETTINGS frame with `entries` (identifier, value) pairs. */
export function settingsFrame(entries: readonly (readonly [number, number])[]): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], index) => {
    payload.writeUInt16BE(id, index * 6);
    payload.writeUInt32BE(value, index * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export function pingFrame(data = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(data >>> 0, 4);
  return frame(FrameType.PING, 0, 0, payload);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** An HPACK literal (without indexing) of a header whose name is static-table entry `index`. */
function literal(index: number, value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  if (index > 14 || bytes.length > 126) throw new RangeError("short literals only");
  return Buffer.concat([Buffer.from([index, bytes.length]), bytes]);
}

/** The header block of `GET path` (static table: 2 is GET, 6 http, 7 https; 1 :authority, 4 :path). */
export function requestBlock(path: string, tls: boolean): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, tls ? 0x87 : 0x86]),
    literal(4, path),
    literal(1, "127.0.0.1"),
  ]);
}

/** An HPACK literal header with a new name (`x-pad`), to pad a header block. */
export function padHeader(length: number): Buffer {
  return Buffer.concat([Buffer.from([0x00, 5]), Buffer.from("x-pad"), literalValue(length)]);
}

function literalValue(length: number): Buffer {
  // A string length of 127 or more takes HPACK's integer continuation bytes.
  if (length < 127) return Buffer.concat([Buffer.from([length]), Buffer.alloc(length, 0x61)]);
  const bytes = [127];
  let rest = length - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.concat([Buffer.from(bytes), Buffer.alloc(length, 0x61)]);
}

export interface ReceivedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A raw h2 connection: what it sent in, the frames that came back, and whether it is closed. */
export class RawH2Connection {
  readonly frames: ReceivedFrame[] = [];
  closed = false;
  #pending = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.#parse(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
    });
  }

  /** Connects (with ALPN h2 over TLS) and sends the preface and an empty SETTINGS frame. */
  static async open(port: number, tls: boolean): Promise<RawH2Connection> {
    const socket = tls
      ? tlsConnect({ host: "127.0.0.1", port, ALPNProtocols: ["h2"], rejectUnauthorized: false })
      : netConnect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    const connection = new RawH2Connection(socket);
    connection.send(Buffer.concat([PREFACE, settingsFrame([])]));
    return connection;
  }

  send(bytes: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /** Acknowledges the server's SETTINGS (so its limits are in force, RFC 9113 §6.5.3). */
  async acknowledgeSettings(): Promise<void> {
    await waitFor(
      () => this.frames.some((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)),
      "the server's SETTINGS",
    );
    this.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
  }

  /** The server's GOAWAY error code, if it sent one. */
  get goawayCode(): number | undefined {
    const goaway = this.frames.find((f) => f.type === FrameType.GOAWAY);
    return goaway?.payload.readUInt32BE(4);
  }

  /** The RST_STREAM codes the server sent, by stream id. */
  get resets(): Map<number, number> {
    const resets = new Map<number, number>();
    for (const f of this.frames) {
      if (f.type === FrameType.RST_STREAM) resets.set(f.streamId, f.payload.readUInt32BE(0));
    }
    return resets;
  }

  /** Streams the server answered with HEADERS. */
  get answeredStreams(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FrameType.HEADERS).map((f) => f.streamId));
  }

  destroy(): void {
    this.socket.destroy();
  }

  #parse(chunk: Buffer): void {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) return;
      this.frames.push({
        type: this.#pending.readUInt8(3),
        flags: this.#pending.readUInt8(4),
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.#pending.subarray(9, 9 + length),
      });
      this.#pending = this.#pending.subarray(9 + length);
    }
  }
}
