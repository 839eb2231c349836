// Waiting in tests: on a condition, a promise or a signal, always bounded and saying what was
// awaited, so a regression fails with a message instead of hanging the run or racing a sleep.
import { setTimeout as sleep } from "node:timers/promises";

export { sleep };

/** Resolves once `check()` is true (with the ms it took), or rejects after `timeout` ms saying what was awaited. */
export async function waitFor(check: () => boolean, what: string, timeout = 2000): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeout)
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await sleep(5);
  }
  return performance.now() - started;
}

/** Like waitFor, for checks that must ask over the network (a server, Redis) each time. */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  timeout = 2000,
): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeout)
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - started;
}

/** Awaits a promise, failing with `what` after `ms` instead of hanging the run. */
export async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the signal aborts (at once if it already has); a socket's is `socket.signal`. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}
