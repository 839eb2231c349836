/**
 * How many times the broker came back after losing Redis (`Broker.reconnects`). An outage
 * lasts while any of its connections that had been up is down, and ends when every one is
 * back: Redis restarted once is one recovery, though both connections dropped and came back
 * at their own pace. A connection never up yet (Redis unreachable at start) lost nothing.
 */
export class RecoveryCount {
  #count = 0;
  readonly #everReady = new Set<string>();
  readonly #down = new Set<string>();

  get count(): number {
    return this.#count;
  }

  lost(connection: string): void {
    if (this.#everReady.has(connection)) this.#down.add(connection);
  }

  ready(connection: string): void {
    this.#everReady.add(connection);
    if (this.#down.delete(connection) && this.#down.size === 0) this.#count++;
  }
}
