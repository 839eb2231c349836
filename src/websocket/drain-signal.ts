import type { Duplex } from "node:stream";

/**
 * One promise per backlog: settles when the socket has written out what it held ('drain'),
 * or rejects when the connection closes first. Shared by every send that waits meanwhile.
 */
export class DrainSignal {
  private pending: Promise<void> | undefined;
  private settle: ((error?: Error) => void) | undefined;

  constructor(private readonly transport: Duplex) {}

  wait(): Promise<void> {
    if (!this.pending) {
      this.pending = new Promise<void>((resolve, reject) => {
        const onDrain = () => this.settle?.();
        this.transport.once("drain", onDrain);
        this.settle = (error) => {
          this.transport.off("drain", onDrain);
          this.pending = undefined;
          this.settle = undefined;
          if (error) reject(error);
          else resolve();
        };
      });
      // Rejection reaches those who await; nobody awaiting is no unhandled rejection.
      this.pending.catch(() => {});
    }
    return this.pending;
  }

  /** The connection closed: whoever waits learns that their data may not have gone out. */
  fail(error: Error): void {
    this.settle?.(error);
  }
}
