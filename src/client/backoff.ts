/** How a client waits between attempts: exponential, with full jitter. */
export interface ReconnectOptions {
  /** The first attempt's delay bound, in ms. Default 500. */
  initialDelay?: number;
  /** The largest delay, in ms. Default 30 000. */
  maxDelay?: number;
  /** A connection that stays up this long (ms) resets the backoff. Default 5 000. */
  stableAfter?: number;
}

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelay: 500,
  maxDelay: 30_000,
  stableAfter: 5_000,
};

/** The longest delay setTimeout takes: a longer one fires at once (TimeoutOverflowWarning). */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * "Full jitter": a uniformly random delay in [0, min(maxDelay, initialDelay·2^attempt)), so
 * that a thousand clients cut by one restart do not all come back in the same millisecond.
 */
export function fullJitterDelay(attempt: number, initialDelay: number, maxDelay: number): number {
  const bound = Math.min(maxDelay, initialDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.random() * bound);
}

export function reconnectOptions(
  options: ReconnectOptions | undefined,
): Required<ReconnectOptions> {
  const merged = { ...DEFAULT_RECONNECT, ...options };
  for (const [name, value] of Object.entries(merged)) {
    if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value))
      throw new RangeError(`reconnect.${name} must be a finite number of ms ≥ 0, got ${value}`);
    merged[name as keyof ReconnectOptions] = Math.min(value, MAX_TIMER);
  }
  return merged;
}
