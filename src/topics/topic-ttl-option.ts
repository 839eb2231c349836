/**
 * Checks a broker's `topicTtl` option: milliseconds a topic nobody uses keeps its log, a
 * positive whole number, or Infinity for no expiry.
 */
export function checkTopicTtl(topicTtl: unknown, broker: string): number {
  if (
    topicTtl !== Number.POSITIVE_INFINITY &&
    (typeof topicTtl !== "number" || !Number.isSafeInteger(topicTtl) || topicTtl < 1)
  ) {
    throw new TypeError(
      `${broker} topicTtl must be a positive whole number of milliseconds (or Infinity), got ${String(topicTtl)}`,
    );
  }
  return topicTtl;
}
