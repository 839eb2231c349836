import type { DeliveryCheck } from "./delivery-check.js";
import { now } from "./latency.js";
import type { RawWebSocket } from "./raw-websocket.js";
import { connectClient } from "./ws-client.js";
import { realtime } from "./ws-dialect.js";

/**
 * A subscriber of the real-time endpoint over WebSocket (`sluice.v1`, docs/protocol.md) on
 * bench/lib's raw client: offers the subprotocol, subscribes to `topic`, and is ready once the
 * subscribe was answered ok; then hands each message frame's data to its DeliveryCheck.
 */
export class RealtimeWsSubscriber {
  error: Error | undefined;
  private closing = false;

  private constructor(
    private readonly ws: RawWebSocket,
    check: DeliveryCheck,
  ) {
    const dialect = realtime("");
    ws.on("message", (data: Buffer) => {
      const start = dialect.payloadStart(data, ws);
      if (start > 0) check.deliver(data, start, data.length, now());
      else if (start === 0) this.fail(new Error(`unexpected frame: ${String(data).slice(0, 200)}`));
    });
    ws.on("error", (error: Error) => this.fail(error));
    ws.on("close", (code: number) =>
      this.fail(new Error(`the server closed the WebSocket (${code})`)),
    );
  }

  static async open(
    port: number,
    path: string,
    topic: string,
    check: DeliveryCheck,
  ): Promise<RealtimeWsSubscriber> {
    const dialect = realtime(topic);
    const ws = await connectClient(dialect.url(port, path), dialect);
    return new RealtimeWsSubscriber(ws, check);
  }

  close(): void {
    this.closing = true;
    this.ws.terminate();
  }

  private fail(error: Error): void {
    if (this.closing) return;
    this.error ??= error;
    this.close();
  }
}
