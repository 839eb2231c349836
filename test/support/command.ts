import { spawn } from "node:child_process";

export interface CommandResult {
  /** The exit code; null when the command was killed (see `timedOut`). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandOptions {
  cwd: string;
  /** Killed (SIGKILL) after this many ms. */
  timeout: number;
  /** Added to the environment. */
  env?: Record<string, string>;
}

/**
 * The environment a command gets: this process's, without what npm sets for the script that
 * runs the tests (`npm_config_local_prefix` and the like would point a nested `npm install`
 * at this repository) and without NODE_OPTIONS (a loader the tests run under).
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) || name === "NODE_OPTIONS") continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a command to its end and resolves with its output, whatever its exit code: the caller
 * asserts on it, and a failure shows what the command printed. Rejects only when it cannot be
 * started at all.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeout);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** What a failed command printed, for an assertion's message. */
export function describeRun(what: string, result: CommandResult): string {
  const ending = result.timedOut ? "timed out" : `exited with ${result.code}`;
  return `${what} ${ending}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
