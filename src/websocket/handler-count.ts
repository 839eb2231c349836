/**
 * How many WebSocket handlers are running, and a promise for the moment none is: what shutdown
 * waits for. A count rather than a set of the handlers' promises, so a running handler costs
 * no `.then()` (a promise, a reaction and a closure) to be forgotten when it ends.
 */
export class HandlerCount {
  private running = 0;
  private idle: Promise<void> | undefined;
  private resolveIdle: (() => void) | undefined;

  started(): void {
    this.running++;
  }

  ended(): void {
    this.running--;
    if (this.running === 0 && this.resolveIdle) {
      this.resolveIdle();
      this.idle = undefined;
      this.resolveIdle = undefined;
    }
  }

  /** Resolves once no handler is running (at once when none is). */
  allEnded(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    this.idle ??= new Promise((resolve) => {
      this.resolveIdle = resolve;
    });
    return this.idle;
  }
}
