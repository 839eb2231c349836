import type { Socket } from "node:net";
import { ChunkedBody } from "./chunked-body.js";
import type { DeliveryCheck } from "./delivery-check.js";
import { now } from "./latency.js";
import { RawSseSubscriber } from "./raw-sse-subscriber.js";

const EVENT_END = Buffer.from("\n\n");
const LF = 0x0a;
/** In an event's `data:` line, the message frame's data (the published object) follows this key. */
const DATA_KEY = Buffer.from('"data":{"seq":');
const DATA_KEY_LENGTH = '"data":'.length;

/**
 * A subscriber of the real-time endpoint's multi-topic SSE (`GET /rt?topic=…`, docs/protocol.md)
 * on a raw socket: checks the response head, then finds each message event's data in the
 * chunked body and hands it to its DeliveryCheck, so a thousand of them cost the load
 * generator little. The stream's opening comment and position block carry no message.
 */
export class RealtimeSseSubscriber extends RawSseSubscriber {
  /** Body bytes after the last complete event (copied: the read buffer is shared). */
  private partial: Buffer | undefined;
  private readonly body = new ChunkedBody((bytes, start, end) => this.onPayload(bytes, start, end));

  private constructor(
    socket: Socket,
    private readonly check: DeliveryCheck,
  ) {
    super(socket, "SSE stream");
  }

  static open(port: number, path: string, check: DeliveryCheck): Promise<RealtimeSseSubscriber> {
    return RawSseSubscriber.connect(
      port,
      path,
      (socket) => new RealtimeSseSubscriber(socket, check),
    );
  }

  protected pushBody(bytes: Buffer, length: number): void {
    this.body.push(bytes, length);
  }

  protected get bodyEnded(): boolean {
    return this.body.ended;
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
}
