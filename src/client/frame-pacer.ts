/** The rate a server announces in its welcome: a burst of `messages`, refilled per `perMs`. */
export interface AnnouncedRate {
  messages: number;
  perMs: number;
}

/**
 * Paces a connection's frames below the rate the server reads without closing it (1008
 * "message rate limit exceeded"): a token bucket kept as the time it is full again, like the
 * server's own, but with half its burst and a tenth slower refill, so frames the network
 * delivers bunched together still fit. Without an announced rate, every frame may go at once.
 */
export class FramePacer {
  #interval = 0;
  #tolerance = 0;
  #fullAt = 0;

  constructor(rate: AnnouncedRate | null | undefined) {
    if (!rate || !(rate.messages >= 1) || !(rate.perMs > 0)) return;
    const burst = Math.max(1, Math.floor(rate.messages / 2));
    this.#interval = (rate.perMs / rate.messages) * 1.1;
    this.#tolerance = (burst - 1) * this.#interval;
  }

  /** Takes the right to send one frame now and returns 0, or returns the ms until it may. */
  take(): number {
    if (this.#interval === 0) return 0;
    const now = performance.now();
    const from = Math.max(this.#fullAt, now);
    const wait = from - now - this.#tolerance;
    if (wait > 0) return wait;
    this.#fullAt = from + this.#interval;
    return 0;
  }
}
