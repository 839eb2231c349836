import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { type SseMessage, SseParser } from "../../src/sse/sse-parser.js";

/**
 * A raw SSE client over node:http for the topic tests: it records every event, can send a
 * Last-Event-ID, and can stop reading (pause its socket) to play a slow consumer.
 */
export class SseClient {
  readonly events: SseMessage[] = [];
  readonly parser = new SseParser();
  /** Resolves when the server ends or cuts the response. */
  readonly ended: Promise<void>;
  private readonly request: ClientRequest;
  private response: IncomingMessage | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(url: string, lastEventId?: string) {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    this.request = request(url, { headers, agent: false });
    this.ended = new Promise((resolve) => {
      this.request.on("response", (response) => {
        this.response = response;
        response.on("data", (chunk: Buffer) => {
          this.events.push(...this.parser.push(chunk));
          for (const wake of this.waiters) wake();
        });
        response.on("close", () => resolve());
      });
      this.request.on("error", () => resolve());
    });
    this.request.end();
  }

  /** True once the response has begun (a topic's SSE route answers once it is live). */
  get responded(): boolean {
    return this.response !== undefined;
  }

  /** Data-carrying events of type `message` parsed as JSON. */
  get messages(): unknown[] {
    return this.events.filter((event) => event.event === "message").map((e) => JSON.parse(e.data));
  }

  /** Resolves once `count` events have arrived; rejects after `timeout` ms saying how many did. */
  async waitForEvents(count: number, timeout = 5000): Promise<SseMessage[]> {
    const started = Date.now();
    while (this.events.length < count) {
      const left = timeout - (Date.now() - started);
      if (left <= 0) {
        throw new Error(`Timed out waiting for ${count} SSE events; got ${this.events.length}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, Math.min(left, 50));
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(wake);
      });
    }
    return this.events.slice(0, count);
  }

  /** Stops reading: the server's writes pile up in the kernel, then in the server. */
  pause(): void {
    this.response?.socket?.pause();
    this.response?.pause();
  }

  resume(): void {
    this.response?.socket?.resume();
    this.response?.resume();
  }

  close(): void {
    this.request.destroy();
  }
}
