import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { ChunkedBody } from "./chunked-body.js";
import { DeliveryCheck } from "./delivery-check.js";
import { getRequest, readStreamHead } from "./http-response.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { SeqLines } from "./seq-lines.js";

/** Every subscriber reads into this one buffer (net's `onread`): no Buffer per read. */
const READ_BUFFER = Buffer.alloc(64 * 1024);
/** Latencies are not what the scale curve measures: one histogram, never recording. */
const NO_LATENCY = new LatencyHistogram();

/**
 * One SSE subscriber of bench/scale-curve.ts on a raw socket (no HTTP parser): checks the
 * response head, then hands every `data: {"seq":…}` line of the chunked body to its
 * DeliveryCheck, which counts each event once and sees losses and duplicates. The producer
 * restarts from event 0 at each step of the curve, so each step gets a fresh check (`reset()`).
 */
export class ScaleSseSubscriber {
  check = new DeliveryCheck(NO_LATENCY);
  error: Error | undefined;
  private head: Buffer | undefined = Buffer.alloc(0);
  private closing = false;
  private readonly body: ChunkedBody;
  private readonly headArrived: Promise<void>;
  private onHead = () => {};

  private constructor(private readonly socket: Socket) {
    const lines = new SeqLines((bytes, start, end) => this.check.deliver(bytes, start, end));
    this.body = new ChunkedBody((bytes, start, end) => lines.push(bytes, start, end));
    this.headArrived = new Promise((resolve) => {
      this.onHead = resolve;
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the stream")));
  }

  /** Resolves once the 200 head of `GET path` came; rejects with what came instead. */
  static async open(port: number, path: string): Promise<ScaleSseSubscriber> {
    let subscriber: ScaleSseSubscriber | undefined;
    const onread = {
      buffer: READ_BUFFER,
      callback: (length: number, buffer: Buffer) => {
        subscriber?.read(buffer.subarray(0, length));
        return true;
      },
    };
    const socket = connect({ port, host: "127.0.0.1", onread });
    subscriber = new ScaleSseSubscriber(socket);
    try {
      await once(socket, "connect");
    } catch (error) {
      subscriber.close();
      throw error;
    }
    socket.write(getRequest(path));
    await subscriber.headArrived;
    if (subscriber.error) throw subscriber.error;
    return subscriber;
  }

  reset(): void {
    this.check = new DeliveryCheck(NO_LATENCY);
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (this.head === undefined) this.body.push(chunk);
    else this.readHead(this.head, chunk);
    if (this.body.ended) this.fail(new Error("the server ended the stream"));
  }

  private readHead(before: Buffer, chunk: Buffer): void {
    const read = readStreamHead(before, chunk);
    this.head = "pending" in read ? read.pending : undefined;
    if ("error" in read) this.fail(read.error);
    else if ("body" in read) {
      this.onHead();
      this.body.push(read.body);
    }
  }

  private fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.close();
    this.onHead();
  }
}
