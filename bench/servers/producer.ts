import type { Schedule } from "./sse-events.js";

/**
 * Publishes event `seq` to every connected client. Returns a promise when a client is behind
 * (its socket or queue is full), settled once every client has caught up.
 */
export type Publish = (seq: number) => Promise<void> | undefined;

/**
 * The one producer of a server process: publishes events 0, 1, 2... to every connected client,
 * at a fixed rate or as fast as the clients take them, until stopped.
 */
export class Producer {
  private published = 0;
  /** One per start(), so a loop left over from an earlier start stops for good. */
  private run = { stopped: true };

  constructor(private readonly publish: Publish) {}

  /**
   * Starts over from event 0: `rate` events/s in bursts of `burst` (one burst every
   * burst/rate s), or as fast as the clients take them when the rate is 0.
   */
  start({ rate, burst }: Schedule): void {
    this.stop();
    this.published = 0;
    this.run = { stopped: false };
    if (rate > 0) this.publishAtRate(rate, burst, this.run);
    else this.saturate(this.run);
  }

  /** Stops publishing; returns how many events were published since start(). */
  stop(): number {
    this.run.stopped = true;
    return this.published;
  }

  /**
   * On a timer that catches up when it fires late, so the average rate is exact. A live feed
   * does not slow down for a client that is behind, so backpressure is not waited for.
   */
  private publishAtRate(rate: number, burst: number, run: { stopped: boolean }): void {
    const startedAt = performance.now();
    const timer = setInterval(
      () => {
        if (run.stopped) return clearInterval(timer);
        // Whole bursts only: at 1 000/s in bursts of 10, exactly ten events every 10 ms.
        const bursts = Math.floor(((performance.now() - startedAt) / 1000) * (rate / burst));
        const due = bursts * burst;
        while (this.published < due) this.publish(this.published++);
      },
      Math.max(1, (1000 * burst) / rate),
    );
  }

  /**
   * One event per event-loop turn, so the clients' sockets are written between two events
   * (publishing in a synchronous loop would only fill buffers); waits while a client is behind.
   */
  private saturate(run: { stopped: boolean }): void {
    const next = () => {
      if (run.stopped) return;
      const behind = this.publish(this.published++);
      if (behind) void behind.then(() => setImmediate(next));
      else setImmediate(next);
    };
    setImmediate(next);
  }
}
