import { type ChildProcess, spawn } from "node:child_process";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { sleep } from "./wait.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The heap in use once a few full collections have run. */
export async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

/** Collects now (for a test that watches a WeakRef). */
export function collectGarbage(): void {
  gc();
}

/**
 * Idle clients run by `script` in a child process (so their memory is not counted), which
 * prints "ready" once they are all connected; resolves then.
 */
export async function clientProcess(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (data) => String(data).includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`the clients exited (${code})`)));
  });
  return child;
}
