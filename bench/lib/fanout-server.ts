import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { withFileLimit } from "./fd-limit.js";
import { pinnedCommand } from "./pinning.js";
import { killedOnExit, residentBytes, stopChild } from "./server-process.js";
import { ROOT } from "./servers.js";

const STARTUP_TIMEOUT_MS = 30_000;

/** A server of bench/hub-fanout.ts in its own process: its CPU and memory are its own. */
export interface FanoutServer {
  pid: number;
  port: number;
  /** Resident memory now, in bytes (/proc/<pid>/status). */
  rss(): number;
  /** Log lines at warn or above since it was ready (the hub's pino lines), for the report. */
  readonly warnings: string[];
  stop(): Promise<void>;
}

/**
 * Starts `argv` pinned to the server core, with a file limit fit for `connections`, and
 * resolves once it said where it listens: a JSON line `{"port":…}` (bench/servers/ready.ts) or
 * the hub's pino line `{"msg":"listening","url":…}`. Other JSON lines at warn (40) or above
 * that come after are kept in `warnings`.
 */
export async function startFanoutServer(
  name: string,
  argv: string[],
  connections: number,
  env: NodeJS.ProcessEnv,
): Promise<FanoutServer> {
  const [file, args] = pinnedCommand(withFileLimit(argv, connections));
  const child = spawn(file, args, { cwd: ROOT, env, stdio: ["pipe", "pipe", "inherit"] });
  killedOnExit(child);
  const warnings: string[] = [];
  const port = await readPort(child, name, warnings);
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  const pid = child.pid;
  return { pid, port, warnings, rss: () => residentBytes(pid), stop: () => stopChild(child) };
}

function readPort(child: ChildProcess, name: string, warnings: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => fail(new Error(`${name} did not start`)), STARTUP_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      if (!ready) reject(error);
    };
    child.once("exit", (code) => fail(new Error(`${name} exited (${code}) before it was ready`)));
    // Read to the end: a child whose stdout pipe fills up would block on its next log line.
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const parsed = parsedLine(line);
      const port = parsed?.port ?? (parsed?.msg === "listening" ? urlPort(parsed.url) : undefined);
      if (!ready && typeof port === "number") {
        ready = true;
        clearTimeout(timer);
        resolve(port);
      } else if (ready && typeof parsed?.level === "number" && parsed.level >= 40) {
        warnings.push(line);
      }
    });
  });
}

function parsedLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function urlPort(url: unknown): number | undefined {
  return typeof url === "string" ? Number(new URL(url).port) : undefined;
}
