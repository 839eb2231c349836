import { readFileSync } from "node:fs";

const SYSCW = /^syscw: (\d+)$/m;

/**
 * Write system calls (write, writev...) a process has made, from /proc/<pid>/io: how many
 * socket writes a server needed, so batching shows. Undefined where /proc/<pid>/io is missing.
 */
export function processWriteCalls(pid: number): number | undefined {
  try {
    const match = SYSCW.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
