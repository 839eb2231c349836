/** The rate a server announces in its welcome: a burst of `messages`, refilled per `perMs`. */
export interface AnnouncedRate {
  messages: number;
  perMs: number;
}

/**
 * Sends a connection's frames no faster than the server reads them without closing it (1008
 * "message rate limit exceeded"): a token bucket kept as the time it is full again, like the
 * server's own, but with half its burst and a tenth slower refill, so frames the network
 * delivers bunched together still fit. Frames past it wait here, in order, and go out as the
 * bucket refills. Without an announced rate, frames go out at once.
 */
export class FramePacer {
  #interval = 0;
  #tolerance = 0;
  #fullAt = 0;
  #waiting: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly write: (text: string) => void,
    rate: AnnouncedRate | null | undefined,
  ) {
    if (!rate || !(rate.messages >= 1) || !(rate.perMs > 0)) return;
    const burst = Math.max(1, Math.floor(rate.messages / 2));
    this.#interval = (rate.perMs / rate.messages) * 1.1;
    this.#tolerance = (burst - 1) * this.#interval;
  }

  send(text: string): void {
    if (this.#waiting.length === 0 && this.#admit()) this.write(text);
    else {
      this.#waiting.push(text);
      this.#schedule();
    }
  }

  /** The connection closed: what waits is dropped (its requests count as lost). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#waiting = [];
  }

  #admit(): boolean {
    if (this.#interval === 0) return true;
    const now = performance.now();
    const from = Math.max(this.#fullAt, now);
    if (from - now > this.#tolerance) return false;
    this.#fullAt = from + this.#interval;
    return true;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#fullAt - this.#tolerance - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      while (this.#waiting.length > 0 && this.#admit()) this.write(this.#waiting.shift() as string);
      if (this.#waiting.length > 0) this.#schedule();
    }, wait);
  }
}
