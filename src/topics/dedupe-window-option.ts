/**
 * How long a broker remembers a publish's dedupe key: long enough for a client to reconnect
 * and resend a publish whose reply it lost (a network change, a server restart).
 */
export const DEFAULT_DEDUPE_WINDOW = 2 * 60_000;

/**
 * Checks a broker's `dedupeWindow` option: milliseconds, a positive whole number. Not
 * Infinity: the keys must go, or they would grow without end.
 */
export function checkDedupeWindow(dedupeWindow: unknown, broker: string): number {
  if (typeof dedupeWindow !== "number" || !Number.isSafeInteger(dedupeWindow) || dedupeWindow < 1) {
    throw new TypeError(
      `${broker} dedupeWindow must be a positive whole number of milliseconds, got ${String(dedupeWindow)}`,
    );
  }
  return dedupeWindow;
}
