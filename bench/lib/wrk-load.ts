import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { openWindow, processCpuMicros, type Window } from "./cpu.js";

export interface WrkLoadOptions {
  port: number;
  /** Server process whose CPU time is read. */
  pid: number;
  path: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
}

export interface WrkLoadResult {
  responses: number;
  window: Window;
}

const WRK = "/usr/bin/wrk";

/**
 * The JSON scenario's load comes from wrk (an outside loader, not the bench's own code):
 * one thread, `connections` keep-alive connections, one request in flight on each. It runs
 * in this process's CPU set (the bench pins itself to the load generator's core). A warm-up
 * run first, then the measured one; its CPU is read from /proc while it runs.
 */
export async function runWrkLoad(options: WrkLoadOptions): Promise<WrkLoadResult> {
  ensureWrk();
  const url = `http://127.0.0.1:${options.port}${options.path}`;
  await wrk(url, options.connections, options.warmupMs);
  const closeWindow = openWindow(options.pid);
  const { output, cpuMicros } = await wrk(url, options.connections, options.durationMs);
  const window = { ...closeWindow(), clientCpuMicros: cpuMicros };
  return { responses: parseWrk(output), window };
}

/** Installs Debian's wrk when missing (as root, like scripts/test-setup.sh), else says how. */
export function ensureWrk(): void {
  if (existsSync(WRK)) return;
  if (process.getuid?.() !== 0) {
    throw new Error("wrk is not installed: run `sudo apt-get install -y wrk` (Debian's wrk)");
  }
  console.error("installing wrk (apt-get install -y wrk)");
  const install = () => spawnSync("apt-get", ["install", "-y", "wrk"], { stdio: "ignore" });
  if (install().status !== 0) {
    execFileSync("apt-get", ["update"], { stdio: "ignore" });
    if (install().status !== 0) throw new Error("apt-get install -y wrk failed");
  }
}

/** One wrk run; resolves with its report and the CPU it used (last reading before it exits). */
function wrk(
  url: string,
  connections: number,
  durationMs: number,
): Promise<{ output: string; cpuMicros: number }> {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const child = spawn(WRK, ["-t1", `-c${connections}`, `-d${seconds}s`, url]);
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    output += chunk;
  });
  let cpuMicros = 0;
  const sample = setInterval(() => {
    try {
      if (child.pid !== undefined) cpuMicros = processCpuMicros(child.pid);
    } catch {
      // gone between the check and the read: the last reading stands
    }
  }, 100);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      clearInterval(sample);
      if (code === 0) resolve({ output, cpuMicros });
      else reject(new Error(`wrk exited with ${code}: ${output}`));
    });
  });
}

/**
 * The responses wrk counted ("N requests in ..."); a run with socket errors or non-2xx
 * answers fails, as the bench's own loader did.
 */
export function parseWrk(output: string): number {
  const count = /(\d+) requests in /.exec(output);
  if (!count) throw new Error(`no request count in wrk's report:\n${output}`);
  if (/Non-2xx or 3xx responses/.test(output) || /Socket errors/.test(output)) {
    throw new Error(`wrk saw failed requests:\n${output}`);
  }
  return Number(count[1]);
}
