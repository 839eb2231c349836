/** A worker that dies sooner than this after it started counts as crashing at start. */
const SHORT_LIFE_MS = 5000;
const FIRST_DELAY_MS = 200;
const MAX_DELAY_MS = 10_000;

/**
 * How long the primary waits before replacing a dead worker: at once after a worker that
 * lived a while (a crash, an out-of-memory kill), longer and longer while replacements keep
 * dying young (a bad deployment, a broker refusing every connection), so that a crash loop
 * does not fork hundreds of processes a second. Capped at 10 s; a worker that lives past
 * 5 s resets it.
 */
export class WorkerRestarts {
  #youngDeaths = 0;

  /** The delay before replacing a worker that started at `startedAt` and died at `now`. */
  delayAfterDeath(startedAt: number, now = Date.now()): number {
    if (now - startedAt >= SHORT_LIFE_MS) {
      this.#youngDeaths = 0;
      return 0;
    }
    this.#youngDeaths++;
    return Math.min(FIRST_DELAY_MS * 2 ** (this.#youngDeaths - 1), MAX_DELAY_MS);
  }
}
