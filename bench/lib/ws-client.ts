import { once } from "node:events";
import { type RawData, WebSocket } from "ws";
import { echoText } from "../servers/ws-messages.js";

const SEQ_PREFIX = Buffer.from('{"seq":');

/**
 * The `seq` of a message that starts `{"seq":<digits>`, read from its bytes without decoding
 * or parsing it (a thousand clients get every message); -1 for any other message.
 */
export function readSeq(data: Buffer): number {
  const start = SEQ_PREFIX.length;
  if (data.length <= start) return -1;
  for (let i = 0; i < start; i++) if (data[i] !== SEQ_PREFIX[i]) return -1;
  let seq = 0;
  let at = start;
  for (; at < data.length; at++) {
    const digit = data[at] - 0x30;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  return at === start ? -1 : seq;
}

/**
 * A `ws` client for the load generator: no permessage-deflate offered (neither server under
 * test enables it by default), and no UTF-8 check of text it only counts.
 */
async function connectClient(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  try {
    await once(ws, "open");
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

  protected constructor(protected readonly ws: WebSocket) {
    ws.on("message", (data: RawData, isBinary: boolean) =>
      this.onMessage(data as Buffer, isBinary),
    );
    ws.on("error", (error) => this.fail(error));
    ws.on("close", (code) => this.fail(new Error(`the server closed the WebSocket (${code})`)));
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

  protected abstract onMessage(data: Buffer, isBinary: boolean): void;

  protected fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.terminate();
  }
}

/**
 * A closed-loop echo client: sends a text message, waits for it to come back (a text message
 * of the same length with the same `seq`), counts the round trip, sends the next.
 */
export class EchoClient extends LoadClient {
  roundTrips = 0;
  private running = false;
  private seq = 0;
  private expectedLength = 0;

  private constructor(
    ws: WebSocket,
    private readonly id: number,
  ) {
    super(ws);
  }

  static async open(url: string, id: number): Promise<EchoClient> {
    return new EchoClient(await connectClient(url), id);
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
    const text = echoText(this.id, this.seq);
    this.expectedLength = text.length; // ASCII: as many bytes
    this.ws.send(text);
  }

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary || data.length !== this.expectedLength || readSeq(data) !== this.seq) {
      const got = isBinary ? "a binary message" : `"${data.toString()}"`;
      this.fail(
        new Error(`echo client ${this.id}: expected "${echoText(this.id, this.seq)}", got ${got}`),
      );
      return;
    }
    this.roundTrips++;
    this.seq++;
    if (this.running) this.send();
  }
}

/** A broadcast subscriber: counts messages, each of which must carry the next `seq` (0, 1, 2...). */
export class BroadcastClient extends LoadClient {
  received = 0;

  static async open(url: string): Promise<BroadcastClient> {
    return new BroadcastClient(await connectClient(url));
  }

  protected onMessage(data: Buffer, isBinary: boolean): void {
    const seq = readSeq(data);
    if (isBinary || seq !== this.received) {
      const got = isBinary ? "a binary message" : `"${data.toString()}"`;
      this.fail(new Error(`broadcast message ${this.received} expected, got ${got}`));
      return;
    }
    this.received++;
  }
}
