/**
 * Tells the parent the server is up (one JSON line on stdout) and exits when asked to
 * (SIGTERM/SIGINT) or, when started by bench/run.ts, when the parent goes away (its stdin
 * pipe closes), so no server outlives a run. With --expose-gc, SIGUSR2 runs a full GC.
 * Exiting through process.exit() lets `--cpu-prof` write its profile.
 */
export function announceReady(port: number): void {
  // The idle-memory scenario starts servers with --expose-gc and asks for a full collection
  // before each RSS reading, so garbage left by the connections' setup is not counted.
  // Listened for before the port is announced: the signal may follow the port at once.
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) process.on("SIGUSR2", () => collect());
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  const exit = () => process.exit(0);
  process.once("SIGTERM", exit);
  process.once("SIGINT", exit);
  if (process.env.BENCH_WATCH_PARENT !== "1") return;
  process.stdin.once("end", exit);
  process.stdin.once("error", exit);
  process.stdin.resume();
}
