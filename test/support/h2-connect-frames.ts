// An RFC 8441 client on raw frames, written without node:http2 or ws: the extended CONNECT's
// header block (HPACK literals without indexing, RFC 7541 §6.2.2, so no compression state),
// WebSocket frames built by hand per RFC 6455 §5.2 (masked as a client must, or not, to play
// a broken client), and the server's frames read back from the DATA of a stream.
import { randomBytes } from "node:crypto";
import { Flag, FrameType, frame, type RawH2Connection } from "./h2-frames.js";
import { waitFor } from "./wait.js";

/** An HPACK literal (without indexing) whose name is static-table entry `index` (1..14). */
function indexedNameLiteral(index: number, value: string): Buffer {
  return Buffer.concat([Buffer.from([index]), shortString(value)]);
}

/** An HPACK literal (without indexing) with a new name. */
function newNameLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), shortString(name), shortString(value)]);
}

function shortString(value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  if (bytes.length > 126) throw new RangeError("short HPACK strings only");
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

export interface ConnectBlockOptions {
  path: string;
  tls: boolean;
  /** The `:protocol` pseudo-header; null leaves it out (a plain CONNECT). Default "websocket". */
  protocol?: string | null;
  /** `sec-websocket-version`; null leaves it out. Default "13". */
  version?: string | null;
}

/**
 * The header block of an extended CONNECT (static table: 2 is `:method`, 6/7 `:scheme`
 * http/https, 4 `:path`, 1 `:authority`).
 */
export function connectBlock(options: ConnectBlockOptions): Buffer {
  const { protocol = "websocket", version = "13" } = options;
  return Buffer.concat([
    indexedNameLiteral(2, "CONNECT"),
    ...(protocol === null ? [] : [newNameLiteral(":protocol", protocol)]),
    Buffer.from([options.tls ? 0x87 : 0x86]),
    indexedNameLiteral(4, options.path),
    indexedNameLiteral(1, "127.0.0.1"),
    ...(version === null ? [] : [newNameLiteral("sec-websocket-version", version)]),
  ]);
}

/** HEADERS opening stream `streamId` with an extended CONNECT (no END_STREAM: it stays open). */
export function connectFrame(streamId: number, options: ConnectBlockOptions): Buffer {
  return frame(FrameType.HEADERS, Flag.END_HEADERS, streamId, connectBlock(options));
}

export const Opcode = { TEXT: 0x1, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/**
 * A final WebSocket frame (RFC 6455 §5.2) of up to 125 bytes of payload: masked with a
 * random key as a client must send it, or unmasked (a protocol error from a client).
 */
export function webSocketFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  if (payload.length > 125) throw new RangeError("short frames only");
  const head = Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((byte, index) => byte ^ (key[index % 4] as number)));
  return Buffer.concat([head, key, body]);
}

/** DATA on `streamId` carrying `bytes`. */
export function dataFrame(streamId: number, bytes: Buffer): Buffer {
  return frame(FrameType.DATA, 0, streamId, bytes);
}

export interface ReadWebSocketFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** The WebSocket frames in `bytes` (short, server-sent ones: lengths up to 65 535). */
export function parseWebSocketFrames(bytes: Buffer): ReadWebSocketFrame[] {
  const frames: ReadWebSocketFrame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const first = bytes[at] as number;
    const second = bytes[at + 1] as number;
    let length = second & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (offset + 2 > bytes.length) break;
      length = bytes.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) throw new RangeError("long frames are not read here");
    const masked = (second & 0x80) !== 0;
    const key = masked ? bytes.subarray(offset, offset + 4) : undefined;
    if (masked) offset += 4;
    if (offset + length > bytes.length) break;
    const raw = bytes.subarray(offset, offset + length);
    const payload = key ? Buffer.from(raw.map((b, i) => b ^ (key[i % 4] as number))) : raw;
    frames.push({ fin: (first & 0x80) !== 0, opcode: first & 0x0f, masked, payload });
    at = offset + length;
  }
  return frames;
}

/** Everything the server sent as DATA on `streamId` so far. */
export function streamData(connection: RawH2Connection, streamId: number): Buffer {
  return Buffer.concat(
    connection.frames
      .filter((f) => f.type === FrameType.DATA && f.streamId === streamId)
      .map((f) => f.payload),
  );
}

/** The WebSocket frames the server sent on `streamId` so far. */
export function webSocketFramesOn(
  connection: RawH2Connection,
  streamId: number,
): ReadWebSocketFrame[] {
  return parseWebSocketFrames(streamData(connection, streamId));
}

/** Waits for the server's WebSocket frames on `streamId` until `check` holds for them. */
export async function waitForWebSocketFrames(
  connection: RawH2Connection,
  streamId: number,
  check: (frames: ReadWebSocketFrame[]) => boolean,
  what: string,
  timeout = 3000,
): Promise<ReadWebSocketFrame[]> {
  await waitFor(() => check(webSocketFramesOn(connection, streamId)), what, timeout);
  return webSocketFramesOn(connection, streamId);
}

/**
 * The `:status` of the response HEADERS on `streamId` when the server sent it as an indexed
 * static-table field (RFC 7541 Appendix A: 8 is 200, 13 is 404, 12 is 400...), which is how
 * nghttp2 sends those; undefined when there is no such frame or field.
 */
export function indexedStatus(connection: RawH2Connection, streamId: number): number | undefined {
  const head = connection.frames.find(
    (f) => f.type === FrameType.HEADERS && f.streamId === streamId,
  );
  const first = head?.payload[0];
  if (first === undefined || (first & 0x80) === 0) return undefined;
  return STATIC_STATUS.get(first & 0x7f);
}

const STATIC_STATUS = new Map([
  [8, 200],
  [9, 204],
  [10, 206],
  [11, 304],
  [12, 400],
  [13, 404],
  [14, 500],
]);
