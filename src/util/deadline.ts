/** The longest delay setTimeout honours: a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `reached` once the clock reaches `at` (ms since the epoch), however far ahead: a
 * delay past setTimeout's limit (about 24.8 days) is waited in steps, each armed again for
 * what is left. The timer is unref'd: a deadline alone never keeps the process alive.
 */
export class Deadline {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly at: number,
    private readonly reached: () => void,
  ) {
    this.#arm();
  }

  /** Stops it: `reached` is not called. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Arms the timer for what is left (at once, on a later turn, when nothing is). */
  #arm(): void {
    const left = Math.min(Math.max(0, this.at - Date.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#fire(), left);
    this.#timer.unref();
  }

  /** Never early: a timer cut to the limit, or one the clock says fired early, waits again. */
  #fire(): void {
    if (Date.now() < this.at) {
      this.#arm();
      return;
    }
    this.#timer = undefined;
    this.reached();
  }
}
