import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { ChunkedEventCounter } from "./chunked-events.js";
import { getRequest, readStreamHead } from "./http-response.js";
import type { LatencyRecorder } from "./latency.js";

/**
 * Every client reads into this one buffer (net's `onread`): its bytes are counted before the
 * next read, so no Buffer is allocated and no 'data' event emitted per read.
 */
const READ_BUFFER = Buffer.alloc(64 * 1024);

/**
 * One SSE subscriber on a raw socket: checks the response head, then only counts the events
 * that arrive (see ChunkedEventCounter), so a thousand of them cost the load generator little.
 */
export class SseClient {
  readonly counter: ChunkedEventCounter;
  error: Error | undefined;
  /** Resolves once the response head has arrived (check `error` then). */
  readonly ready: Promise<void>;
  private head: Buffer | undefined = Buffer.alloc(0);
  private closing = false;
  private onHead = () => {};

  private constructor(
    private readonly socket: Socket,
    latency: LatencyRecorder | undefined,
  ) {
    this.counter = new ChunkedEventCounter(latency);
    this.ready = new Promise((resolve) => {
      this.onHead = resolve;
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the stream")));
  }

  static async open(port: number, path: string, latency?: LatencyRecorder): Promise<SseClient> {
    let client: SseClient | undefined;
    const onread = {
      buffer: READ_BUFFER,
      callback: (length: number, buffer: Buffer) => {
        client?.onData(buffer, length);
        return true; // keep reading
      },
    };
    const socket = connect({ port, host: "127.0.0.1", onread });
    client = new SseClient(socket, latency);
    await once(socket, "connect");
    socket.write(getRequest(path));
    return client;
  }

  get events(): number {
    return this.counter.events;
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onData(buffer: Buffer, length: number): void {
    if (this.head !== undefined) this.readHead(this.head, buffer.subarray(0, length));
    else this.counter.push(buffer, length);
    if (this.counter.ended) this.fail(new Error("the server ended the stream"));
  }

  /** Until the head is complete, bytes are kept; what follows it is body. */
  private readHead(before: Buffer, chunk: Buffer): void {
    const read = readStreamHead(before, chunk);
    this.head = "pending" in read ? read.pending : undefined;
    if ("error" in read) this.fail(read.error);
    else if ("body" in read) {
      this.onHead();
      this.counter.push(read.body);
    }
  }

  private fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.close();
    this.onHead();
  }
}
