import { type IncomingHttpHeaders, IncomingMessage } from "node:http";
import { type SseMessage, SseParser } from "../sse/sse-parser.js";
import {
  type ReceivedResponse,
  receivedOverHttp1,
  streamResetAsConnectionReset,
} from "./received-response.js";

const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * A response being received. `chunks()`, `lines()`, `events()` and `text()` read from one
 * shared cursor, so a test can take the first lines, then the rest. Leaving a loop early does
 * not disconnect; `close()` does. A transfer the server cut short makes them reject (code
 * ECONNRESET, over h2 too, where the server resets the stream).
 */
export class TestStream {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly #message: ReceivedResponse;
  readonly #cursor: AsyncIterator<Buffer>;
  /** Bytes received but not handed out yet (the part of a line after its last newline). */
  #carry: Buffer = EMPTY;
  #sse: { parser: SseParser; ready: SseMessage[] } | undefined;

  constructor(message: IncomingMessage | ReceivedResponse) {
    const received = message instanceof IncomingMessage ? receivedOverHttp1(message) : message;
    this.#message = received;
    this.statusCode = received.statusCode;
    this.headers = received.headers;
    const body = received.body[Symbol.asyncIterator]();
    this.#cursor = {
      next: () =>
        body.next().catch((error: unknown) => Promise.reject(streamResetAsConnectionReset(error))),
    };
  }

  /** Raw chunks as they arrive. */
  async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    if (this.#carry.length > 0) yield this.#takeCarry();
    for (;;) {
      const step = await this.#cursor.next();
      if (step.done) return;
      yield step.value;
    }
  }

  /** Lines as they complete, without their `\n` (or `\r\n`). */
  async *lines(): AsyncGenerator<string, void, undefined> {
    for (;;) {
      const newline = this.#carry.indexOf(NEWLINE);
      if (newline !== -1) {
        const line = this.#carry.subarray(0, newline);
        this.#carry = this.#carry.subarray(newline + 1);
        yield line.toString("utf8").replace(/\r$/, "");
        continue;
      }
      const step = await this.#cursor.next();
      if (step.done) {
        if (this.#carry.length > 0) yield this.#takeCarry().toString("utf8");
        return;
      }
      this.#carry =
        this.#carry.length === 0 ? step.value : Buffer.concat([this.#carry, step.value]);
    }
  }

  /**
   * Server-Sent Events as they complete, parsed as a browser would (see SseParser). Events
   * parsed but not taken yet wait for the next call, so leaving a loop early loses nothing.
   */
  async *events(): AsyncGenerator<SseMessage, void, undefined> {
    this.#sse ??= { parser: new SseParser(), ready: [] };
    const { parser, ready } = this.#sse;
    while (ready.length > 0) yield ready.shift() as SseMessage;
    for await (const chunk of this.chunks()) {
      ready.push(...parser.push(chunk));
      while (ready.length > 0) yield ready.shift() as SseMessage;
    }
  }

  /** The SSE parser's state: the last event id and retry seen so far. */
  get sseState(): { lastEventId: string; reconnectionTime: number | undefined } {
    const parser = this.#sse?.parser;
    return { lastEventId: parser?.lastEventId ?? "", reconnectionTime: parser?.reconnectionTime };
  }

  /** Everything not read yet, once the response ends. */
  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of this.chunks()) parts.push(chunk);
    return Buffer.concat(parts).toString("utf8");
  }

  /** Disconnects mid-stream, as a client that goes away would (over h2: RST_STREAM, CANCEL). */
  close(): Promise<void> {
    return this.#message.disconnect();
  }

  /** True once the server ended the response cleanly (chunked terminator, or h2 END_STREAM). */
  get complete(): boolean {
    return this.#message.complete;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #takeCarry(): Buffer {
    const carried = this.#carry;
    this.#carry = EMPTY;
    return carried;
  }
}
