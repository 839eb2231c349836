/*
 * A real redis-server for tests: on a free loopback port, stopped (or killed) and started
 * again on the same port to play an outage. Without persistence by default; with
 * `{ persistent: true }` every write is in its append-only file before Redis answers it, so
 * a SIGKILL loses nothing it acknowledged. Stop it in an `after` hook.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const BINARY = "redis-server";
const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;

/** Servers still running when the test process exits are killed with it. */
const running = new Set<ChildProcess>();
/** The data directories of persistent servers, removed when the test process exits. */
const dataDirs = new Set<string>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

export interface RedisServerOptions {
  /**
   * Append-only file with `appendfsync always`, in a directory of its own: what Redis
   * acknowledged survives a kill and is loaded again by start(). Default false (no data kept).
   */
  persistent?: boolean;
}

/** A port nothing listens on now: bound to port 0 on 127.0.0.1, then let go. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port was bound");
  return address.port;
}

/** True when a server on `port` answers PING with PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      reply += String(data);
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
    socket.on("error", () => finish(false));
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = "";

  /** Where a persistent server keeps its append-only file; undefined without persistence. */
  private readonly dataDir: string | undefined;

  private constructor(
    readonly port: number,
    options: RedisServerOptions,
  ) {
    if (options.persistent) {
      this.dataDir = mkdtempSync(join(tmpdir(), "sluice-redis-"));
      dataDirs.add(this.dataDir);
    }
  }

  /** Starts a server on a free port; resolves once it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(await freePort(), options);
      try {
        await server.start();
        return server;
      } catch (error) {
        // Another process may have taken the port between freePort() and redis-server.
        if (attempt >= 3 || !server.output.includes("Address already in use")) throw error;
      }
    }
  }

  /** The redis-server process, while it runs (benchmarks read its CPU time). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  /** Starts redis-server on this server's port (again, after stop()); resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`redis-server is already running on port ${this.port}`);
    this.output = "";
    const child = spawn(
      BINARY,
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--daemonize",
        "no",
        ...this.persistenceArgs(),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const keep = (data: Buffer) => {
      this.output = (this.output + String(data)).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    let failure: Error | undefined;
    child.once("error", (error: NodeJS.ErrnoException) => {
      failure =
        error.code === "ENOENT"
          ? new Error(
              `${BINARY} was not found on PATH: the Redis broker's tests need a real one (npm test installs it as root on Debian: scripts/test-setup.sh)`,
            )
          : error;
    });
    let exited = false;
    child.once("exit", () => {
      exited = true;
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    this.child = child;
    running.add(child);
    const started = performance.now();
    while (!(await answersPing(this.port))) {
      if (failure) throw failure;
      if (exited) {
        throw new Error(`${BINARY} on port ${this.port} exited at start:\n${this.output}`);
      }
      if (performance.now() - started > START_TIMEOUT_MS) {
        await this.stop();
        throw new Error(
          `${BINARY} on port ${this.port} did not answer PING within ${START_TIMEOUT_MS} ms:\n${this.output}`,
        );
      }
      await sleep(20);
    }
  }

  private persistenceArgs(): string[] {
    if (this.dataDir === undefined) return ["--appendonly", "no", "--dir", tmpdir()];
    return ["--appendonly", "yes", "--appendfsync", "always", "--dir", this.dataDir];
  }

  /**
   * SIGKILL, as a crash or the OOM killer would: no shutdown, no last write. Resolves once
   * the process has exited.
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    running.delete(child);
  }

  /** SIGTERM, and resolves once the process has exited (SIGKILL if it takes too long). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    if (this.dataDir !== undefined) {
      rmSync(this.dataDir, { recursive: true, force: true });
      dataDirs.delete(this.dataDir);
    }
  }
}
