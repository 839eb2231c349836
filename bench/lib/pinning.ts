import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

export const SERVER_CORE = 0;
export const CLIENT_CORE = 1;

/** Pinning needs taskset and at least two cores (server on core 0, load generator on 1). */
export const canPin = detectTaskset() && availableParallelism() >= 2;

function detectTaskset(): boolean {
  const probe = spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
  return probe.status === 0;
}

/** Pins every thread of this process (the load generator) to CLIENT_CORE. */
export function pinSelf(): boolean {
  if (!canPin) return false;
  const args = ["-a", "-p", "-c", String(CLIENT_CORE), String(process.pid)];
  return spawnSync("taskset", args, { stdio: "ignore" }).status === 0;
}

/** The command that runs `argv` pinned to SERVER_CORE (or unpinned without taskset). */
export function pinnedCommand(argv: string[]): [string, string[]] {
  if (!canPin) return [argv[0], argv.slice(1)];
  return ["taskset", ["-c", String(SERVER_CORE), ...argv]];
}
