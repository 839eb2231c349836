/**
 * Waits for `promises` to settle (fulfilled or rejected alike) for at most `timeout` ms:
 * true when they all did in time. A timeout of 0 or less still lets work that is already
 * done (or finishes within the current turn) count as settled.
 */
export async function settledWithin(
  promises: readonly Promise<unknown>[],
  timeout: number,
): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, timeout), false);
  });
  const settled = Promise.allSettled(promises).then(() => true);
  const inTime = await Promise.race([settled, expired]);
  clearTimeout(timer);
  return inTime;
}
