/** Checks a broker's `history` option: how many messages each topic's log keeps. */
export function checkHistory(history: unknown, broker: string): number {
  if (typeof history !== "number" || !Number.isSafeInteger(history) || history < 1) {
    throw new TypeError(
      `${broker} history must be a positive whole number of messages per topic, got ${String(history)}`,
    );
  }
  return history;
}
