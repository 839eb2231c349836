// A WebSocket client on a bare `node:net` socket, for hostile-input tests: the handshake is
// done by hand (and its Sec-WebSocket-Accept checked), frames are built byte by byte, so a
// test can send what no real client library would (unmasked frames, RSV bits, reserved
// opcodes, lying lengths), and every frame the server answers is parsed and kept.
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** RFC 6455 section 1.3: the GUID appended to the key before hashing. */
const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** Default true. */
  fin?: boolean;
  /** RSV bits as they sit in the first byte: 0x40 RSV1, 0x20 RSV2, 0x10 RSV3. Default 0. */
  rsv?: number;
  /** A client must mask; false builds the forbidden unmasked frame. Default true. */
  masked?: boolean;
  /** The length to announce instead of the payload's real one (a lying or huge length). */
  declaredLength?: bigint;
  /** Force a length encoding (7-bit, 16-bit or 64-bit) instead of the smallest one. */
  lengthBits?: 7 | 16 | 64;
}

/** One client frame as it goes on the wire. */
export function buildFrame(spec: FrameSpec): Buffer {
  const payload = toBytes(spec.payload);
  const masked = spec.masked ?? true;
  const length = spec.declaredLength ?? BigInt(payload.length);
  const first = ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | (spec.opcode & 0x0f);
  const lengthBytes = encodeLength(length, spec.lengthBits ?? smallestLengthBits(length));
  lengthBytes[0] |= masked ? 0x80 : 0;
  if (!masked) return Buffer.concat([Buffer.of(first), lengthBytes, payload]);
  const key = randomBytes(4);
  return Buffer.concat([Buffer.of(first), lengthBytes, key, applyMask(payload, key)]);
}

/** A close frame's payload: the code in two bytes, then the reason. */
export function closePayload(code: number, reason: string | Buffer = ""): Buffer {
  const codeBytes = Buffer.alloc(2);
  codeBytes.writeUInt16BE(code);
  return Buffer.concat([codeBytes, toBytes(reason)]);
}

function toBytes(data: Buffer | string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

function smallestLengthBits(length: bigint): 7 | 16 | 64 {
  if (length < 126n) return 7;
  return length < 65_536n ? 16 : 64;
}

/** The second header byte (without the mask bit) and the extended length, if any. */
function encodeLength(length: bigint, bits: 7 | 16 | 64): Buffer {
  if (bits === 7) return Buffer.of(Number(length));
  if (bits === 16) {
    const bytes = Buffer.alloc(3);
    bytes[0] = 126;
    bytes.writeUInt16BE(Number(length), 1);
    return bytes;
  }
  const bytes = Buffer.alloc(9);
  bytes[0] = 127;
  bytes.writeBigUInt64BE(length, 1);
  return bytes;
}

function applyMask(payload: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i] ^ key[i % 4];
  return out;
}

/** A frame the server sent, as parsed. */
export interface ServerFrame {
  fin: boolean;
  /** The RSV bits as they sit in the first byte (0 without an extension). */
  rsv: number;
  opcode: number;
  /** A server must not mask: kept so a test can check. */
  masked: boolean;
  payload: Buffer;
}

/** What a close frame said: no code when its payload was empty. */
export interface CloseFrame {
  code: number | undefined;
  reason: string;
}

export function parseClose(frame: ServerFrame): CloseFrame {
  if (frame.payload.length < 2) return { code: undefined, reason: "" };
  return {
    code: frame.payload.readUInt16BE(0),
    reason: frame.payload.subarray(2).toString("utf8"),
  };
}

/** Parses server frames from a byte stream that arrives in arbitrary pieces. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the frames they complete. */
  push(chunk: Buffer): ServerFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: ServerFrame[] = [];
    for (;;) {
      const frame = this.takeFrame();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  private takeFrame(): ServerFrame | undefined {
    const bytes = this.pending;
    if (bytes.length < 2) return undefined;
    const masked = (bytes[1] & 0x80) !== 0;
    const header = this.headerOf(bytes);
    if (!header) return undefined;
    const maskAt = header.payloadAt;
    const payloadAt = maskAt + (masked ? 4 : 0);
    const end = payloadAt + header.length;
    if (bytes.length < end) return undefined;
    const body = bytes.subarray(payloadAt, end);
    const payload = masked ? applyMask(body, bytes.subarray(maskAt, payloadAt)) : Buffer.from(body);
    this.pending = bytes.subarray(end);
    return {
      fin: (bytes[0] & 0x80) !== 0,
      rsv: bytes[0] & 0x70,
      opcode: bytes[0] & 0x0f,
      masked,
      payload,
    };
  }

  private headerOf(bytes: Buffer): { length: number; payloadAt: number } | undefined {
    const short = bytes[1] & 0x7f;
    if (short < 126) return { length: short, payloadAt: 2 };
    if (short === 126) {
      return bytes.length < 4 ? undefined : { length: bytes.readUInt16BE(2), payloadAt: 4 };
    }
    if (bytes.length < 10) return undefined;
    return { length: Number(bytes.readBigUInt64BE(2)), payloadAt: 10 };
  }
}

export interface RawWebSocketOptions {
  /** Answer the server's pings with pongs carrying the same payload. Default false. */
  answerPings?: boolean;
  /** How long the handshake may take, in ms. Default 5 000. */
  timeout?: number;
}

/** The key a client sends and the Sec-WebSocket-Accept the server must answer with. */
export function handshakeKey(): { key: string; accept: string } {
  const key = randomBytes(16).toString("base64");
  const accept = createHash("sha1")
    .update(key + HANDSHAKE_GUID)
    .digest("base64");
  return { key, accept };
}

/**
 * An open WebSocket on a raw socket. Every frame the server sends is kept in `frames`, in
 * order; `nextFrame()` hands them out one by one. `serverEnded` settles with the time (ms
 * since the handshake) at which the server ended or dropped the TCP connection.
 */
export class RawWebSocket {
  readonly frames: ServerFrame[] = [];
  /** ms after the handshake at which the server ended (FIN) or dropped the connection. */
  readonly serverEnded: Promise<number>;
  /** Settles once the TCP connection is fully closed. */
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader();
  private readonly openedAt = performance.now();
  private taken = 0;
  /** Whoever waits for the next frame (or the end). */
  private readonly waiters = new Set<() => void>();
  private endedFlag = false;

  private constructor(
    readonly socket: Socket,
    private readonly options: RawWebSocketOptions,
    leftover: Buffer,
  ) {
    this.serverEnded = new Promise((resolve) => {
      const onEnd = () => {
        this.endedFlag = true;
        this.wake();
        resolve(performance.now() - this.openedAt);
      };
      socket.once("end", onEnd);
      socket.once("close", onEnd);
    });
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {}); // a reset shows as the end of the connection
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    if (leftover.length > 0) this.received(leftover);
  }

  /** Does the upgrade on a new connection; rejects unless the answer is a correct 101. */
  static async open(
    port: number,
    path: string,
    options: RawWebSocketOptions = {},
  ): Promise<RawWebSocket> {
    const socket = connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    const { key, accept } = handshakeKey();
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const { head, rest } = await readHead(socket, options.timeout ?? 5000);
    checkUpgradeAnswer(head, accept);
    return new RawWebSocket(socket, options, rest);
  }

  /** Writes bytes as they are. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Builds and writes one frame. */
  send(spec: FrameSpec): void {
    this.write(buildFrame(spec));
  }

  /** A masked, final text frame. */
  sendText(text: string): void {
    this.send({ opcode: Opcode.text, payload: text });
  }

  /** Writes the bytes one at a time, `delayMs` apart (each its own TCP segment). */
  async writeBytewise(bytes: Buffer, delayMs = 1): Promise<void> {
    for (const byte of bytes) {
      if (this.socket.destroyed) return;
      this.socket.write(Buffer.of(byte));
      await sleep(delayMs);
    }
  }

  /** True once the server ended or dropped the connection. */
  get ended(): boolean {
    return this.endedFlag;
  }

  /** The next frame not yet handed out, waiting up to `timeout` ms for it. */
  async nextFrame(what = "a frame from the server", timeout = 3000): Promise<ServerFrame> {
    const deadline = performance.now() + timeout;
    while (this.taken >= this.frames.length) {
      const left = deadline - performance.now();
      if (this.endedFlag || left <= 0) {
        throw new Error(
          `${this.endedFlag ? "Connection ended" : `Timed out after ${timeout} ms`} waiting for ${what}`,
        );
      }
      await this.nextArrival(left);
    }
    return this.frames[this.taken++];
  }

  /** The next text, binary or close frame, skipping pings and pongs. */
  async nextDataFrame(what = "a data frame from the server", timeout = 3000): Promise<ServerFrame> {
    for (;;) {
      const frame = await this.nextFrame(what, timeout);
      if (frame.opcode !== Opcode.ping && frame.opcode !== Opcode.pong) return frame;
    }
  }

  /** Skips whatever comes before the server's close frame and parses it. */
  async closeFrame(timeout = 3000): Promise<CloseFrame> {
    for (;;) {
      const frame = await this.nextFrame("the server's close frame", timeout);
      if (frame.opcode === Opcode.close) return parseClose(frame);
    }
  }

  /** Cuts the connection. */
  destroy(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    for (const frame of this.reader.push(chunk)) {
      this.frames.push(frame);
      if (frame.opcode === Opcode.ping && this.options.answerPings && !this.socket.destroyed) {
        this.send({ opcode: Opcode.pong, payload: frame.payload });
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private nextArrival(timeout: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeout);
      this.waiters.add(done);
    });
  }
}

/** Reads the HTTP answer's head; what came after it belongs to the WebSocket. */
function readHead(socket: Socket, timeout: number): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(
      () => fail(new Error(`No upgrade answer within ${timeout} ms`)),
      timeout,
    );
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      cleanUp();
      resolve({
        head: received.subarray(0, end).toString("latin1"),
        rest: received.subarray(end + 4),
      });
    };
    const onClose = () =>
      fail(new Error(`Connection closed during the handshake: ${received.toString("latin1")}`));
    const fail = (error: Error) => {
      cleanUp();
      socket.destroy();
      reject(error);
    };
    const cleanUp = () => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", fail);
    };
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", fail);
  });
}

function checkUpgradeAnswer(head: string, expectedAccept: string): void {
  const [statusLine, ...lines] = head.split("\r\n");
  if (!/^HTTP\/1\.1 101 /.test(statusLine)) {
    throw new Error(`Upgrade refused: ${statusLine}`);
  }
  const headers = new Map(
    lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  const accept = headers.get("sec-websocket-accept");
  if (accept !== expectedAccept) {
    throw new Error(`Sec-WebSocket-Accept is ${accept}, expected ${expectedAccept}`);
  }
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new Error(`Upgrade header is ${headers.get("upgrade")}, expected websocket`);
  }
}
