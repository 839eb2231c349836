import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { pinnedCommand } from "./pinning.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** No server outlives the run, however it ends. */
process.once("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(130));
}

/** Starts `bench/servers/<script>` in its own pinned process; resolves once it has a port. */
export async function startServer(
  name: string,
  script: string,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const entry = fileURLToPath(new URL(`../servers/${script}`, import.meta.url));
  const [file, args] = pinnedCommand([process.execPath, ...nodeArgs, "--import", "tsx", entry]);
  const child = spawn(file, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_WATCH_PARENT: "1" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const port = await readPort(child, name);
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  return { name, pid: child.pid, port, stop: () => stopChild(child) };
}

function readPort(child: ChildProcess, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start`)), STARTUP_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const fail = (error: Error) => {
      clearTimeout(timer);
      lines.close();
      reject(error);
    };
    child.once("exit", (code) => fail(new Error(`${name} exited (${code}) before it was ready`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      lines.close();
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
