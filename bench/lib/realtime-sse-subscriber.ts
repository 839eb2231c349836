import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { ChunkedBody } from "./chunked-body.js";
import type { DeliveryCheck } from "./delivery-check.js";
import { getRequest, readStreamHead } from "./http-response.js";
import { now } from "./latency.js";

const EVENT_END = Buffer.from("\n\n");
const LF = 0x0a;
/** In an event's `data:` line, the message frame's data (the published object) follows this key. */
const DATA_KEY = Buffer.from('"data":{"seq":');
const DATA_KEY_LENGTH = '"data":'.length;
/** Every subscriber reads into this one buffer (net's `onread`): nothing is allocated per read. */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * A subscriber of the real-time endpoint's multi-topic SSE (`GET /rt?topic=…`, docs/protocol.md)
 * on a raw socket: checks the response head, then finds each message event's data in the
 * chunked body and hands it to its DeliveryCheck, so a thousand of them cost the load
 * generator little. The stream's opening comment and position block carry no message.
 */
export class RealtimeSseSubscriber {
  error: Error | undefined;
  /** Resolves once the response head has arrived (check `error` then). */
  readonly ready: Promise<void>;
  private head: Buffer | undefined = Buffer.alloc(0);
  /** Body bytes after the last complete event (copied: the read buffer is shared). */
  private partial: Buffer | undefined;
  private readonly body = new ChunkedBody((bytes, start, end) => this.onPayload(bytes, start, end));
  private closing = false;
  private onHead = () => {};

  private constructor(
    private readonly socket: Socket,
    private readonly check: DeliveryCheck,
  ) {
    this.ready = new Promise((resolve) => {
      this.onHead = resolve;
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the SSE stream")));
  }

  static async open(
    port: number,
    path: string,
    check: DeliveryCheck,
  ): Promise<RealtimeSseSubscriber> {
    let subscriber: RealtimeSseSubscriber | undefined;
    const onread = {
      buffer: READ_BUFFER,
      callback: (length: number, buffer: Buffer) => {
        subscriber?.onData(buffer, length);
        return true;
      },
    };
    const socket = connect({ port, host: "127.0.0.1", onread });
    subscriber = new RealtimeSseSubscriber(socket, check);
    await once(socket, "connect");
    socket.write(getRequest(path));
    return subscriber;
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onData(buffer: Buffer, length: number): void {
    if (this.head !== undefined) this.readHead(this.head, buffer.subarray(0, length));
    else this.body.push(buffer, length);
    if (this.body.ended) this.fail(new Error("the server ended the SSE stream"));
  }

  /** Until the head is complete, bytes are kept; what follows it is body. */
  private readHead(before: Buffer, chunk: Buffer): void {
    const read = readStreamHead(before, chunk);
    this.head = "pending" in read ? read.pending : undefined;
    if ("error" in read) this.fail(read.error);
    else if ("body" in read) {
      this.onHead();
      this.body.push(read.body);
    }
  }

  /** Checks the events that end in these payload bytes; keeps a copy of an unfinished one. */
  private onPayload(bytes: Buffer, start: number, end: number): void {
    const receivedAt = now();
    let text = bytes.subarray(start, end);
    if (this.partial) text = Buffer.concat([this.partial, text]);
    const lastEnd = text.lastIndexOf(EVENT_END);
    if (lastEnd === -1) {
      this.partial = Buffer.from(text);
      return;
    }
    const complete = lastEnd + EVENT_END.length;
    this.partial = complete < text.length ? Buffer.from(text.subarray(complete)) : undefined;
    for (let at = text.indexOf(DATA_KEY); at !== -1 && at < complete; ) {
      const lineEnd = text.indexOf(LF, at);
      this.check.deliver(text, at + DATA_KEY_LENGTH, lineEnd, receivedAt);
      at = text.indexOf(DATA_KEY, lineEnd);
    }
  }

  private fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.close();
    this.onHead();
  }
}
