import type { Socket } from "node:net";
import { ChunkedEventCounter } from "./chunked-events.js";
import type { LatencyRecorder } from "./latency.js";
import { RawSseSubscriber } from "./raw-sse-subscriber.js";

/**
 * One SSE subscriber on a raw socket: checks the response head, then only counts the events
 * that arrive (see ChunkedEventCounter), so a thousand of them cost the load generator little.
 */
export class SseClient extends RawSseSubscriber {
  readonly counter: ChunkedEventCounter;

  private constructor(socket: Socket, latency?: LatencyRecorder) {
    super(socket, "stream");
    this.counter = new ChunkedEventCounter(latency);
  }

  static open(port: number, path: string, latency?: LatencyRecorder): Promise<SseClient> {
    return RawSseSubscriber.connect(port, path, (socket) => new SseClient(socket, latency));
  }

  get events(): number {
    return this.counter.events;
  }

  protected pushBody(bytes: Buffer, length: number): void {
    this.counter.push(bytes, length);
  }

  protected get bodyEnded(): boolean {
    return this.counter.ended;
  }
}
