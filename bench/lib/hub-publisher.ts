import { Agent, request } from "node:http";
import { broadcastData } from "../servers/ws-messages.js";
import { now } from "./latency.js";
import { LatencyHistogram } from "./latency-histogram.js";

/**
 * Requests in flight at most (keep-alive connections): as a backend with many workers, the
 * publisher does not wait for an answer before the next publish is due. The hub answers a
 * publish once its fan-out to the local subscribers is done (tens of ms to 2 000 of them), so
 * a handful of connections would queue requests here and count that wait as latency.
 */
const SOCKETS = 64;
/** How long the answers in flight may take once publishing stopped (a busy machine is slow). */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * A backend publishing to `sluice hub` over HTTP: `POST /publish` with the bench's message
 * (bench/servers/ws-messages.ts's broadcastData, seq 0, 1, 2...) at a fixed rate, on
 * keep-alive connections. Each message's `t` is stamped just before its request is written,
 * so a delivery's latency runs from the HTTP request to the subscriber. Every answer must be
 * 200: anything else (a 429 of the rate limit, a 503) is kept and fails the run.
 */
export class HubPublisher {
  /** From each request's start to its answer's end: what the backend waits for (in the window). */
  readonly answers = new LatencyHistogram();
  private sent = 0;
  private succeeded = 0;
  private inFlight = 0;
  private readonly failures: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: SOCKETS });

  constructor(
    private readonly port: number,
    private readonly key: string,
    private readonly topic: string,
  ) {}

  /** Publishes `rate` messages/s from seq 0, on a timer that catches up when it fires late. */
  start(rate: number): void {
    const startedAt = performance.now();
    this.timer = setInterval(
      () => {
        const due = Math.floor(((performance.now() - startedAt) / 1000) * rate);
        while (this.sent < due) this.publish(this.sent++);
      },
      Math.max(1, 1000 / rate),
    );
  }

  /** Stops, waits for the answers in flight; resolves how many were published (200). */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    const deadline = performance.now() + DRAIN_TIMEOUT_MS;
    while (this.inFlight > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.agent.destroy();
    if (this.inFlight > 0) this.failures.push(`${this.inFlight} publishes never answered`);
    if (this.failures.length > 0) {
      const more = this.failures.length > 1 ? ` (and ${this.failures.length - 1} more)` : "";
      throw new Error(`POST /publish failed: ${this.failures[0]}${more}`);
    }
    return this.succeeded;
  }

  private publish(seq: number): void {
    this.inFlight++;
    const sentAt = now();
    const req = request(
      {
        host: "127.0.0.1",
        port: this.port,
        method: "POST",
        path: "/publish",
        agent: this.agent,
        headers: { authorization: `Bearer ${this.key}`, "content-type": "application/json" },
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => {
          this.inFlight--;
          this.answers.record(now() - sentAt); // while recording: answers in the window
          if (response.statusCode === 200) this.succeeded++;
          else this.failures.push(`message ${seq}: ${response.statusCode} ${body.slice(0, 300)}`);
        });
      },
    );
    req.on("error", (error) => {
      this.inFlight--;
      this.failures.push(`message ${seq}: ${error.message}`);
    });
    req.end(JSON.stringify({ topic: this.topic, data: broadcastData(seq, sentAt) }));
  }
}
