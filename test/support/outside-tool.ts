// A test that runs a program from outside Node (ruby, php, go, rustc, nginx...), installed
// from a Debian package by scripts/test-setup.sh. On a contributor's machine without it the
// test is skipped, saying which package to install; in CI (CI=true) the setup script should
// have installed it, so a missing one fails the test with that message instead.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Where Debian puts daemons (nginx): not on a non-root user's PATH. */
const SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

export interface OutsideTool {
  /** The executable's path; undefined when it is not installed. */
  readonly path: string | undefined;
  /** node:test's `skip` option: the reason when it is missing outside CI, otherwise false. */
  readonly skip: string | false;
  /** The executable's path; throws, naming the package, when it is not installed. */
  require(): string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findExecutable(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SBIN_DIRS];
  return dirs.map((dir) => join(dir, command)).find(isExecutable);
}

/** `command` on the PATH (or in an sbin directory), from the Debian package `debianPackage`. */
export function outsideTool(command: string, debianPackage: string): OutsideTool {
  const path = findExecutable(command);
  const missing = `${command} is not installed: install the Debian package ${debianPackage} (npm test's scripts/test-setup.sh does, as root)`;
  const inCi = process.env.CI === "true";
  return {
    path,
    skip: path === undefined && !inCi ? missing : false,
    require() {
      if (path === undefined) throw new Error(inCi ? `in CI, ${missing}` : missing);
      return path;
    },
  };
}
