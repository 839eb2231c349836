import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";

/*
 * The load generator's WebSocket client: a raw TCP socket and just enough of RFC 6455 to
 * drive the servers under test, so the generator costs far less per message than the server
 * it measures (a `ws` client costs about as much as a `ws` server). The sanity checks use real
 * `ws` clients; this one is for load only.
 * - Frames it sends are masked with an all-zero key (valid: the server unmasks with it, and
 *   the payload goes out as it is; `ws` offers the same through its `generateMask` option).
 * - Frames it reads: text, binary, continuation, ping (answered), pong, close (answered).
 *   A masked or reserved-bit frame from the server is an error.
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEADER_END = Buffer.from("\r\n\r\n");
const MAX_HEAD_BYTES = 16 * 1024;

const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa };
const FIN = 0x80;
const MASKED = 0x80;
const ZERO_MASK_BYTES = 4;

/** Events, as on a `ws` WebSocket: open, message (data, isBinary), error (error), close (code). */
export class RawWebSocket extends EventEmitter {
  private readonly socket: Socket;
  private pending: Buffer | undefined;
  private open = false;
  private closed = false;
  /** The frames of a fragmented message so far, and whether it is binary. */
  private fragments: Buffer[] = [];
  private fragmentedBinary = false;

  /** `protocol`: the one subprotocol offered, which the server must then select. */
  constructor(
    url: string,
    private readonly protocol?: string,
  ) {
    super();
    const { hostname, port, pathname, search } = new URL(url);
    const key = randomBytes(16).toString("base64");
    const offer = protocol === undefined ? "" : `Sec-WebSocket-Protocol: ${protocol}\r\n`;
    this.socket = connect({ host: hostname, port: Number(port), noDelay: true });
    this.socket.write(
      `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${offer}\r\n`,
    );
    const accept = createHash("sha1").update(`${key}${GUID}`).digest("base64");
    this.socket.on("data", (chunk: Buffer) => this.receive(chunk, accept));
    this.socket.on("error", (error) => this.fail(error));
    this.socket.on("close", () => {
      if (this.open) this.ended(1006);
      else this.fail(new Error("the connection closed during the WebSocket handshake"));
    });
  }

  /** One text frame, sent in one write. */
  send(text: string): void {
    if (this.closed) return;
    const length = Buffer.byteLength(text);
    const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
    const headerBytes = 2 + lengthBytes + ZERO_MASK_BYTES;
    const frame = Buffer.allocUnsafe(headerBytes + length);
    frame[0] = FIN | OPCODE.text;
    if (lengthBytes === 0) frame[1] = MASKED | length;
    else if (lengthBytes === 2) {
      frame[1] = MASKED | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = MASKED | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    frame.writeUInt32BE(0, 2 + lengthBytes);
    frame.write(text, headerBytes);
    this.socket.write(frame);
  }

  /** A close frame with `code`; the server answers and closes the connection. */
  close(code = 1000): void {
    if (this.closed || !this.open) this.terminate();
    else this.sendControl(OPCODE.close, Buffer.from([code >> 8, code & 0xff]));
  }

  terminate(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer, accept: string): void {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const rest = this.open ? data : this.handshake(data, accept);
    if (rest) this.readFrames(rest);
  }

  /** Checks the 101 answer; returns the bytes after it, or undefined while it is incomplete. */
  private handshake(data: Buffer, accept: string): Buffer | undefined {
    const end = data.indexOf(HEADER_END);
    if (end === -1) {
      if (data.length > MAX_HEAD_BYTES) this.fail(new Error("no end to the handshake response"));
      else this.pending = data;
      return undefined;
    }
    const head = data.toString("latin1", 0, end);
    const status = head.slice(0, head.indexOf("\r\n"));
    if (!/^HTTP\/1\.1 101 /.test(status)) {
      this.fail(new Error(`the WebSocket handshake failed: ${status}`));
      return undefined;
    }
    if (!head.toLowerCase().includes(`\r\nsec-websocket-accept: ${accept.toLowerCase()}`)) {
      this.fail(new Error("the WebSocket handshake failed: wrong Sec-WebSocket-Accept"));
      return undefined;
    }
    const selected = `\r\nsec-websocket-protocol: ${this.protocol?.toLowerCase()}\r\n`;
    if (this.protocol !== undefined && !`${head.toLowerCase()}\r\n`.includes(selected)) {
      this.fail(
        new Error(`the WebSocket handshake failed: subprotocol ${this.protocol} not selected`),
      );
      return undefined;
    }
    this.open = true;
    this.emit("open");
    return data.subarray(end + HEADER_END.length);
  }

  private readFrames(data: Buffer): void {
    let at = 0;
    while (!this.closed) {
      const frame = readFrame(data, at);
      if (frame === undefined) break;
      if (typeof frame === "string") {
        this.fail(new Error(frame));
        return;
      }
      at = frame.end;
      this.onFrame(frame.opcode, frame.fin, data.subarray(frame.start, frame.end));
    }
    if (at < data.length) this.pending = data.subarray(at);
  }

  private onFrame(opcode: number, fin: boolean, payload: Buffer): void {
    switch (opcode) {
      case OPCODE.text:
      case OPCODE.binary:
        if (fin) this.emit("message", payload, opcode === OPCODE.binary);
        else {
          this.fragments = [payload];
          this.fragmentedBinary = opcode === OPCODE.binary;
        }
        return;
      case OPCODE.continuation:
        this.fragments.push(payload);
        if (!fin) return;
        this.emit("message", Buffer.concat(this.fragments), this.fragmentedBinary);
        this.fragments = [];
        return;
      case OPCODE.ping:
        this.sendControl(OPCODE.pong, payload);
        return;
      case OPCODE.pong:
        return;
      case OPCODE.close: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.sendControl(OPCODE.close, payload.subarray(0, 2));
        this.socket.end();
        this.ended(code);
        return;
      }
      default:
        this.fail(new Error(`unknown WebSocket opcode ${opcode}`));
    }
  }

  private sendControl(opcode: number, payload: Buffer): void {
    if (this.closed) return;
    const frame = Buffer.allocUnsafe(2 + ZERO_MASK_BYTES + payload.length);
    frame[0] = FIN | opcode;
    frame[1] = MASKED | payload.length; // control payloads are at most 125 bytes
    frame.writeUInt32BE(0, 2);
    payload.copy(frame, 2 + ZERO_MASK_BYTES);
    this.socket.write(frame);
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.emit("error", error);
    this.socket.destroy();
    this.ended(1006);
  }

  private ended(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("close", code);
  }
}

interface Frame {
  opcode: number;
  fin: boolean;
  /** Where the payload starts and ends in the buffer read. */
  start: number;
  end: number;
}

/** The frame at `at`, undefined when incomplete, or a message saying what is wrong with it. */
function readFrame(data: Buffer, at: number): Frame | string | undefined {
  if (data.length - at < 2) return undefined;
  const first = data[at];
  const second = data[at + 1];
  if (first & 0x70) return "a WebSocket frame from the server has reserved bits set";
  if (second & MASKED) return "a WebSocket frame from the server is masked";
  let length = second & 0x7f;
  let start = at + 2;
  if (length === 126) {
    if (data.length < start + 2) return undefined;
    length = data.readUInt16BE(start);
    start += 2;
  } else if (length === 127) {
    if (data.length < start + 8) return undefined;
    length = Number(data.readBigUInt64BE(start));
    start += 8;
  }
  const end = start + length;
  if (data.length < end) return undefined;
  return { opcode: first & 0x0f, fin: (first & FIN) !== 0, start, end };
}
