import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { StringDecoder } from "node:string_decoder";

/**
 * A response being received. `chunks()`, `lines()` and `text()` read from one shared cursor,
 * so a test can take the first lines, then the rest. Leaving a loop early does not disconnect;
 * `close()` does. A transfer the server cut short makes them reject (code ECONNRESET).
 */
export class TestStream {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  private readonly message: IncomingMessage;
  private readonly cursor: AsyncIterator<Buffer>;
  private readonly decoder = new StringDecoder("utf8");
  private partialLine = "";

  constructor(message: IncomingMessage) {
    this.message = message;
    this.statusCode = message.statusCode ?? 0;
    this.headers = message.headers;
    this.cursor = message[Symbol.asyncIterator]();
  }

  /** Raw chunks as they arrive. */
  async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const step = await this.cursor.next();
      if (step.done) return;
      yield step.value;
    }
  }

  /** Lines as they complete, without their `\n` (or `\r\n`). */
  async *lines(): AsyncGenerator<string, void, undefined> {
    for (;;) {
      const newline = this.partialLine.indexOf("\n");
      if (newline !== -1) {
        const line = this.partialLine.slice(0, newline);
        this.partialLine = this.partialLine.slice(newline + 1);
        yield line.endsWith("\r") ? line.slice(0, -1) : line;
        continue;
      }
      const step = await this.cursor.next();
      if (step.done) {
        const rest = this.partialLine + this.decoder.end();
        this.partialLine = "";
        if (rest !== "") yield rest;
        return;
      }
      this.partialLine += this.decoder.write(step.value);
    }
  }

  /** Everything not read yet, once the response ends. */
  async text(): Promise<string> {
    let text = this.partialLine;
    this.partialLine = "";
    for await (const chunk of this.chunks()) text += this.decoder.write(chunk);
    return text + this.decoder.end();
  }

  /** Disconnects mid-stream, as a client that goes away would. */
  close(): Promise<void> {
    const socket = this.message.socket;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.destroy();
    });
  }

  /** True once the server ended the response cleanly (chunked terminator received). */
  get complete(): boolean {
    return this.message.complete;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
