import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

/*
 * What the benchmarks do with a server they run in a child process (bench/lib/fanout-server.ts,
 * bench/lib/h2-server.ts): watch its memory, stop it, and never leave it behind.
 */

const STOP_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
/** No server outlives the run, however it ends. */
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Has `child` killed when this process exits, if it is still running then. */
export function killedOnExit(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
}

/** Resident memory of process `pid` now, in bytes (/proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return kb ? Number(kb[1]) * 1024 : Number.NaN;
}

/**
 * SIGTERM (the hub drains gracefully, a profiled server writes its profile on the way out),
 * SIGKILL if it has not exited after a while.
 */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
