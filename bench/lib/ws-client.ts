import { once } from "node:events";
import { echoText } from "../servers/ws-messages.js";
import { type LatencyRecorder, now, readStamp } from "./latency.js";
import { RawWebSocket } from "./raw-websocket.js";
import { type Dialect, plainWebSocket } from "./ws-dialect.js";

const SEQ_PREFIX = Buffer.from('{"seq":');

/**
 * The `seq` of a message whose bytes from `start` begin `{"seq":<digits>`, read without
 * decoding or parsing it (a thousand clients get every message); -1 for any other message.
 */
export function readSeq(data: Buffer, start = 0): number {
  const from = start + SEQ_PREFIX.length;
  if (data.length <= from) return -1;
  for (let i = 0; i < SEQ_PREFIX.length; i++) if (data[start + i] !== SEQ_PREFIX[i]) return -1;
  let seq = 0;
  let at = from;
  for (; at < data.length; at++) {
    const digit = data[at] - 0x30;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  return at === from ? -1 : seq;
}

/**
 * A raw-socket client for the load generator (no permessage-deflate offered, so no server
 * compresses; no UTF-8 check of text it only counts).
 */
export async function connectClient(url: string, dialect: Dialect): Promise<RawWebSocket> {
  const ws = new RawWebSocket(url, dialect.protocol);
  // Listening from the start: a server may send its first message right behind the 101.
  const joined = dialect.join(ws);
  joined.catch(() => {}); // awaited below, unless the handshake failed first
  try {
    await once(ws, "open");
    await joined;
  } catch (error) {
    ws.terminate();
    throw error;
  }
  return ws;
}

/** What the clients share: the first error, and a close that is not one. */
abstract class LoadClient {
  error: Error | undefined;
  private closing = false;

  protected constructor(
    protected readonly ws: RawWebSocket,
    protected readonly dialect: Dialect,
  ) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const start = dialect.payloadStart(data, ws);
      if (start !== -1) this.onMessage(data, start, isBinary);
    });
    ws.on("error", (error: Error) => this.fail(error));
    ws.on("close", (code: number) => {
      this.fail(new Error(`the server closed the WebSocket (${code})`));
    });
  }

  /** A close handshake (code 1000): the server sees the client leave as it would in use. */
  close(): void {
    this.closing = true;
    this.ws.close(1000);
  }

  /** Cuts the connection (after close(), frees what the handshake may still hold). */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /** A message of the application; its payload (the JSON object) starts at `start`. */
  protected abstract onMessage(data: Buffer, start: number, isBinary: boolean): void;

  protected fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.terminate();
  }
}

/**
 * A closed-loop echo client: sends a text message, waits for it to come back (a text message
 * of the same length with the same `seq`), counts the round trip and its time, sends the next.
 */
export class EchoClient extends LoadClient {
  roundTrips = 0;
  private running = false;
  private seq = 0;
  private expectedLength = 0;
  private sentAt = 0;

  private constructor(
    ws: RawWebSocket,
    dialect: Dialect,
    private readonly id: number,
    private readonly latency: LatencyRecorder,
  ) {
    super(ws, dialect);
  }

  static async open(
    url: string,
    id: number,
    latency: LatencyRecorder,
    dialect: Dialect = plainWebSocket,
  ): Promise<EchoClient> {
    return new EchoClient(await connectClient(url, dialect), dialect, id, latency);
  }

  start(): void {
    this.running = true;
    this.send();
  }

  /** No further message is sent; the one in flight may still come back. */
  stop(): void {
    this.running = false;
  }

  private send(): void {
    const text = this.dialect.wrap(echoText(this.id, this.seq));
    this.expectedLength = text.length; // ASCII: as many bytes
    this.sentAt = now();
    this.ws.send(text);
  }

  protected onMessage(data: Buffer, start: number, isBinary: boolean): void {
    if (isBinary || data.length !== this.expectedLength || readSeq(data, start) !== this.seq) {
      const got = isBinary ? "a binary message" : `"${data.toString()}"`;
      this.fail(
        new Error(`echo client ${this.id}: expected "${echoText(this.id, this.seq)}", got ${got}`),
      );
      return;
    }
    this.latency.record(now() - this.sentAt);
    this.roundTrips++;
    this.seq++;
    if (this.running) this.send();
  }
}

/**
 * A broadcast subscriber: counts messages, each of which must carry the next `seq` (0, 1,
 * 2...), and records each one's delivery latency from the publish time it carries.
 */
export class BroadcastClient extends LoadClient {
  received = 0;

  private constructor(
    ws: RawWebSocket,
    dialect: Dialect,
    private readonly latency: LatencyRecorder | undefined,
  ) {
    super(ws, dialect);
  }

  static async open(
    url: string,
    latency?: LatencyRecorder,
    dialect: Dialect = plainWebSocket,
  ): Promise<BroadcastClient> {
    return new BroadcastClient(await connectClient(url, dialect), dialect, latency);
  }

  protected onMessage(data: Buffer, start: number, isBinary: boolean): void {
    const seq = readSeq(data, start);
    if (isBinary || seq !== this.received) {
      const got = isBinary ? "a binary message" : `"${data.toString()}"`;
      this.fail(new Error(`broadcast message ${this.received} expected, got ${got}`));
      return;
    }
    if (this.latency?.recording) this.latency.record(now() - readStamp(data, start));
    this.received++;
  }
}
