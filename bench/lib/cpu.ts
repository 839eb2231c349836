import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = clockTicks();

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/**
 * CPU time (user + system, all threads) a process has used, in µs, from /proc/<pid>/stat.
 * Resolution is one clock tick (usually 10 ms), fine for windows of a second or more.
 */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) + stime (15)
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

/** What one measured window cost: wall time, server CPU and this process's (the client's). */
export interface Window {
  wallMicros: number;
  serverCpuMicros: number;
  clientCpuMicros: number;
}

/** Starts a window on the server `pid`; call the returned function to close it. */
export function openWindow(pid: number): () => Window {
  return openWindows([pid]);
}

/** A window on several server processes (instances of one app): their CPU is summed. */
export function openWindows(pids: number[]): () => Window {
  const serversCpu = () => pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  const wallStart = process.hrtime.bigint();
  const serverStart = serversCpu();
  const clientStart = process.cpuUsage();
  return () => {
    const client = process.cpuUsage(clientStart);
    return {
      wallMicros: Number(process.hrtime.bigint() - wallStart) / 1000,
      serverCpuMicros: serversCpu() - serverStart,
      clientCpuMicros: client.user + client.system,
    };
  };
}
