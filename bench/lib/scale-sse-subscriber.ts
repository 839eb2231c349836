import type { Socket } from "node:net";
import { ChunkedBody } from "./chunked-body.js";
import { DeliveryCheck } from "./delivery-check.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { RawSseSubscriber } from "./raw-sse-subscriber.js";
import { SeqLines } from "./seq-lines.js";

/** Latencies are not what the scale curve measures: one histogram, never recording. */
const NO_LATENCY = new LatencyHistogram();

/**
 * One SSE subscriber of bench/scale-curve.ts on a raw socket (no HTTP parser): checks the
 * response head, then hands every `data: {"seq":…}` line of the chunked body to its
 * DeliveryCheck, which counts each event once and sees losses and duplicates. The producer
 * restarts from event 0 at each step of the curve, so each step gets a fresh check (`reset()`).
 */
export class ScaleSseSubscriber extends RawSseSubscriber {
  check = new DeliveryCheck(NO_LATENCY);
  private readonly body: ChunkedBody;

  private constructor(socket: Socket) {
    super(socket, "stream");
    const lines = new SeqLines((bytes, start, end) => this.check.deliver(bytes, start, end));
    this.body = new ChunkedBody((bytes, start, end) => lines.push(bytes, start, end));
  }

  /** Resolves once the 200 head of `GET path` came; rejects with what came instead. */
  static async open(port: number, path: string): Promise<ScaleSseSubscriber> {
    const subscriber = await RawSseSubscriber.connect(
      port,
      path,
      (socket) => new ScaleSseSubscriber(socket),
    );
    await subscriber.ready;
    if (subscriber.error) throw subscriber.error;
    return subscriber;
  }

  reset(): void {
    this.check = new DeliveryCheck(NO_LATENCY);
  }

  protected pushBody(bytes: Buffer, length: number): void {
    this.body.push(bytes, length);
  }

  protected get bodyEnded(): boolean {
    return this.body.ended;
  }
}
