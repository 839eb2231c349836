// The driver's side of the soak server: spawns soak/server.ts in its own Node process and asks
// it for stats over IPC.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ParentMessage, ServerStats } from "./protocol.js";

const SERVER_FILE = fileURLToPath(new URL("./server.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STATS_TIMEOUT_MS = 15_000;
const STDERR_KEPT = 4000;

export class SoakServer implements AsyncDisposable {
  private nextId = 0;
  private readonly pending = new Map<number, (stats: ServerStats) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly output: { stderr: string },
  ) {
    child.on("message", (message: ChildMessage) => {
      if (message.type !== "stats") return;
      this.pending.get(message.id)?.(message.stats);
      this.pending.delete(message.id);
    });
  }

  /** Starts the server process; resolves once it listens. */
  static async start(env: Record<string, string> = {}): Promise<SoakServer> {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", SERVER_FILE], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    const output = { stderr: "" };
    child.stderr?.on("data", (data) => {
      process.stderr.write(data);
      output.stderr = (output.stderr + data).slice(-STDERR_KEPT);
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the soak server did not listen within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.on("message", (message: ChildMessage) => {
        if (message.type !== "listening") return;
        clearTimeout(timer);
        resolve(message.url);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the soak server exited (${code}) before listening:\n${output.stderr}`));
      });
    });
    return new SoakServer(child, url, output);
  }

  /** The server's stats; with `gc`, taken after full garbage collections. */
  stats(gc: boolean): Promise<ServerStats> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(
            `the soak server did not answer a stats request within ${STATS_TIMEOUT_MS} ms${this.exitNote()}`,
          ),
        );
      }, STATS_TIMEOUT_MS);
      this.pending.set(id, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.send({ type: "stats", id, gc });
    });
  }

  /** What the server wrote on stderr (passed on to ours too; the end of it is kept). */
  get errorOutput(): string {
    return this.output.stderr;
  }

  /** Asks the server to close and exit; kills it if it has not within a few seconds. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.send({ type: "exit" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private send(message: ParentMessage): void {
    if (!this.child.connected) throw new Error(`the soak server is gone${this.exitNote()}`);
    this.child.send(message);
  }

  private exitNote(): string {
    const { exitCode, signalCode } = this.child;
    if (exitCode === null && signalCode === null) return "";
    return ` (it exited: ${exitCode ?? signalCode})\n${this.output.stderr}`;
  }
}
