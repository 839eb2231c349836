// `sluice hub` as users run it: its own Node process (src/hub/bin.ts through tsx), its JSON
// log lines read from stdout. Without the SLUICE_* variables of the test run's environment.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { waitFor } from "./wait.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = "src/hub/bin.ts";

/**
 * The environment a hub process gets: this one's without SLUICE_*, without what npm sets for
 * the script running the tests (it would point an `npx` in another project at this
 * repository) and without NODE_OPTIONS (a loader the tests run under), plus `extra`.
 */
function hubEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(SLUICE_|npm_)/i.test(name) || name === "NODE_OPTIONS") continue;
    env[name] = value;
  }
  return { ...env, LOG_LEVEL: "info", ...extra };
}

/** How the `sluice` command is run: from the sources (default), or an installed bin. */
export interface SluiceCommand {
  /** The executable and its first arguments. Default: node with tsx on src/hub/bin.ts. */
  readonly command?: readonly string[];
  /** Default: the repository. */
  readonly cwd?: string;
}

function spawnBin(
  args: readonly string[],
  env: Record<string, string>,
  { command = [process.execPath, "--import", "tsx", BIN], cwd = ROOT }: SluiceCommand = {},
): ChildProcess {
  const [executable, ...first] = command;
  return spawn(executable, [...first, ...args], {
    cwd,
    env: hubEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface HubRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `sluice <args>` to its end (killed after `timeout` ms) and resolves what it printed. */
export async function runSluice(
  args: readonly string[],
  env: Record<string, string> = {},
  how: SluiceCommand = {},
  timeout = 30_000,
): Promise<HubRun> {
  const child = spawnBin(args, env, how);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** A running `sluice hub`: its URL, its log lines so far, and how it ended. */
export class HubProcess {
  #stdout = "";
  #stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    public url = "",
  ) {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr += chunk;
    });
    this.exited = once(child, "close").then(([code, signal]) => ({ code, signal }));
  }

  /** Starts `sluice hub <args>` and resolves once it logged the URL it listens on. */
  static async start(
    args: readonly string[],
    env: Record<string, string> = {},
    how: SluiceCommand = {},
  ): Promise<HubProcess> {
    const hub = new HubProcess(spawnBin(["hub", ...args], env, how));
    let ended = false;
    hub.exited.then(() => {
      ended = true;
    });
    // A cold tsx start takes seconds on a busy 2-core machine; this bounds a hang, not speed.
    await waitFor(
      () => ended || hub.logs.some((line) => line.msg === "listening"),
      "the hub to listen",
      30_000,
    );
    if (ended) throw new Error(`the hub exited at start:\n${hub.#stdout}\n${hub.#stderr}`);
    hub.url = String(hub.logs.find((line) => line.msg === "listening")?.url);
    return hub;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The JSON log lines written so far. */
  get logs(): Record<string, unknown>[] {
    return this.#stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The ws:// URL of `path`. */
  ws(path: string): string {
    return `${this.url.replace(/^http/, "ws")}${path}`;
  }

  /** SIGKILL, for a test's cleanup: nothing to drain. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
