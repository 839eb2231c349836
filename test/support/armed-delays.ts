/**
 * The delays setTimeout (or setInterval) was armed with while `run` runs; the timers themselves
 * run as usual. For defaults too long to wait for: the test reads the delay a timer got.
 */
export async function armedDelays(
  kind: "setTimeout" | "setInterval",
  run: () => Promise<void> | void,
): Promise<number[]> {
  const timers = globalThis as unknown as Record<string, (...args: unknown[]) => unknown>;
  const real = timers[kind] as (...args: unknown[]) => unknown;
  const delays: number[] = [];
  timers[kind] = (callback: unknown, delay?: unknown, ...args: unknown[]) => {
    delays.push(typeof delay === "number" ? delay : 0);
    return real(callback, delay, ...args);
  };
  try {
    await run();
  } finally {
    timers[kind] = real;
  }
  return delays;
}
