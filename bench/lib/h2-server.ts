import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { withFileLimit } from "./fd-limit.js";
import { pinnedCommand } from "./pinning.js";
import { killedOnExit, residentBytes, stopChild } from "./server-process.js";
import { ROOT } from "./servers.js";

const ENTRY = fileURLToPath(new URL("../servers/h2-fanout.ts", import.meta.url));
const ANSWER_TIMEOUT_MS = 30_000;

/** What bench/servers/h2-fanout.ts serves (BENCH_H2_PROTOCOL). */
export type ServedProtocol = "http1" | "https" | "h2" | "h2c";

export interface H2ServerOptions {
  protocol: ServedProtocol;
  /** PEM key and certificate, for "https" and "h2". */
  tls?: { key: string; cert: string };
  /** Connections it must be able to hold (its open-file limit is raised for them). */
  connections: number;
  /** sluice from dist/ rather than src/ through tsx. */
  dist: boolean;
  /** Where to write V8 CPU profiles (`--cpu-prof`, in a directory per server), written when it stops. */
  profileDir?: string;
}

/**
 * bench/servers/h2-fanout.ts in its own process pinned to the server core: its CPU and memory
 * are its own. Commands go as JSON lines on its stdin, one at a time, each answered by a line.
 */
export class H2Server {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: Interface,
    readonly pid: number,
    readonly port: number,
  ) {}

  static async start(options: H2ServerOptions): Promise<H2Server> {
    // A directory per server: --cpu-prof writes a profile per thread (the main one, tid 0, and
    // tsx's module-loader thread), and a fixed --cpu-prof-name would have one overwrite the other.
    const profile = options.profileDir
      ? [
          "--cpu-prof",
          "--cpu-prof-dir",
          join(options.profileDir, `${options.protocol}-${Date.now()}`),
        ]
      : [];
    const argv = [process.execPath, ...profile, "--import", "tsx", ENTRY];
    const [file, args] = pinnedCommand(withFileLimit(argv, options.connections));
    const child = spawn(file, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_H2_PROTOCOL: options.protocol,
        BENCH_SLUICE_DIST: options.dist ? "1" : "0",
        BENCH_TLS_KEY: options.tls?.key ?? "",
        BENCH_TLS_CERT: options.tls?.cert ?? "",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    killedOnExit(child);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const { port } = (await nextLine(child, lines, "start")) as { port: number };
    if (child.pid === undefined) throw new Error("the h2 fan-out server has no pid");
    return new H2Server(child, lines, child.pid, port);
  }

  /** Sends one command; resolves its answer. */
  async ask<T>(command: Record<string, unknown>): Promise<T> {
    const answer = nextLine(this.child, this.lines, String(command.cmd));
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
    return (await answer) as T;
  }

  /** Resident memory now, in bytes (/proc/<pid>/status). */
  rss(): number {
    return residentBytes(this.pid);
  }

  /** SIGTERM (a profile is written on the way out), SIGKILL if it is still there after a while. */
  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

function nextLine(child: ChildProcess, lines: Interface, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no answer to ${what}`)), ANSWER_TIMEOUT_MS);
    const onLine = (line: string) => {
      try {
        done(undefined, JSON.parse(line));
      } catch {
        done(new Error(`the server wrote "${line.slice(0, 200)}", not a JSON answer to ${what}`));
      }
    };
    const onExit = (code: number | null) =>
      done(new Error(`the h2 fan-out server exited (${code}) during ${what}`));
    const done = (error?: Error, value?: unknown) => {
      clearTimeout(timer);
      lines.off("line", onLine);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve(value);
    };
    lines.once("line", onLine);
    child.once("exit", onExit);
  });
}
