import { execFileSync } from "node:child_process";

/** Files a Node server holds besides its connections (its modules, pipes, the event loop's). */
const OWN_FILES = 100;

/** A limit as `ulimit -n` prints it: a number, or Infinity for "unlimited". */
function shellLimit(flag: "-Sn" | "-Hn"): number {
  const printed = execFileSync("/bin/sh", ["-c", `ulimit ${flag}`], { encoding: "utf8" }).trim();
  return printed === "unlimited" ? Number.POSITIVE_INFINITY : Number(printed);
}

/**
 * `argv` run so that the process may hold `connections` sockets. The soft limit on open files
 * is often 1 024, which 2 000 connections pass (the server then refuses connections with
 * EMFILE): when it is too low, the command runs under `sh -c 'ulimit -n N; exec …'`, which
 * raises it within the hard limit (no privileges needed; exec keeps the pid). Above the hard
 * limit, only an administrator can help: that fails with what to do.
 */
export function withFileLimit(argv: string[], connections: number): string[] {
  const needed = connections + OWN_FILES;
  if (shellLimit("-Sn") >= needed) return argv;
  const hard = shellLimit("-Hn");
  if (hard < needed) {
    throw new Error(
      `a server holding ${connections} connections needs ${needed} open files, but the hard limit (ulimit -Hn) is ${hard}: raise it (as root: ulimit -Hn ${needed}; under systemd: LimitNOFILE=) or run fewer subscribers`,
    );
  }
  return ["/bin/sh", "-c", `ulimit -n ${needed} && exec "$@"`, "sh", ...argv];
}
