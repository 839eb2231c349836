// A real nginx for tests, in the foreground on loopback: its prefix, temp directories, pid
// file and logs in a temp directory of its own, its errors on stderr. The test gives the
// configuration of the http block (what a conf.d file holds); stop it in an `after` hook.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const START_TIMEOUT_MS = 10_000;

/** nginx masters still running when the test process exits are stopped with it. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** nginx's main configuration: one worker, every path under `dir`, `httpConf` included. */
function mainConf(dir: string, httpConf: string): string {
  const temp = (name: string) => join(dir, "temp", name);
  return `worker_processes 1;
events { worker_connections 1024; }
http {
    client_body_temp_path ${temp("client_body")};
    proxy_temp_path ${temp("proxy")};
    fastcgi_temp_path ${temp("fastcgi")};
    uwsgi_temp_path ${temp("uwsgi")};
    scgi_temp_path ${temp("scgi")};
    access_log ${join(dir, "logs", "access.log")};
    include ${httpConf};
}
`;
}

export class NginxProcess {
  #stderr = "";

  private constructor(
    private readonly child: ChildProcess,
    /** The temp directory: prefix, configuration, logs. */
    readonly dir: string,
  ) {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr += chunk;
    });
  }

  /** What nginx wrote on stderr (its error log). */
  get stderr(): string {
    return this.#stderr;
  }

  /** A temp directory for a configuration's files (certificates...), removed by stop(). */
  static makeDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "sluice-nginx-"));
    for (const sub of ["logs", "temp", "conf"]) mkdirSync(join(dir, sub));
    return dir;
  }

  /**
   * Starts `nginx` (the executable's path) with `httpConf` (the http block's contents) in
   * `dir` (from makeDir()), and resolves once it accepts connections on `port`.
   */
  static async start(
    nginx: string,
    dir: string,
    httpConf: string,
    port: number,
  ): Promise<NginxProcess> {
    const confFile = join(dir, "conf", "http.conf");
    writeFileSync(confFile, httpConf);
    writeFileSync(join(dir, "conf", "nginx.conf"), mainConf(dir, confFile));
    const child = spawn(
      nginx,
      [
        "-p",
        dir,
        "-c",
        join(dir, "conf", "nginx.conf"),
        "-e",
        "stderr",
        "-g",
        `daemon off; master_process on; pid ${join(dir, "nginx.pid")};`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const server = new NginxProcess(child, dir);
    let exited = false;
    running.add(child);
    child.once("exit", () => {
      exited = true;
      running.delete(child);
    });
    const started = performance.now();
    while (!(await accepts(port))) {
      if (exited) throw new Error(`nginx exited at start:\n${server.stderr}`);
      if (performance.now() - started > START_TIMEOUT_MS) {
        await server.stop();
        throw new Error(
          `nginx did not listen on ${port} within ${START_TIMEOUT_MS} ms:\n${server.stderr}`,
        );
      }
      await sleep(20);
    }
    return server;
  }

  /**
   * SIGTERM, nginx's fast shutdown (the graceful SIGQUIT would wait for every open stream),
   * SIGKILL after 5 s; then removes its directory.
   */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
