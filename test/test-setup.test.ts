// scripts/test-setup.sh, the set-up `npm test` runs first, on sandboxes made for it: a PATH
// holding only a temp folder of stand-ins (an `id` that says who the user is, an `apt-get` and
// an `npm` that write down how they were called), so no test installs anything for real.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, describe, test } from "node:test";

const SCRIPT = "scripts/test-setup.sh";

/** The real executable `name` on this machine's PATH. */
function realCommand(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} was not found on PATH: the set-up script's tests need it`);
}

const BASH = realCommand("bash");

interface Machine {
  /** What `id -u` prints. */
  uid: number;
  /** What `uname -s` prints. */
  os?: "Linux" | "Darwin";
  /** Whether apt-get is on the PATH (a Debian or Ubuntu machine). */
  apt?: boolean;
  /** Whether the fake `apt-get install` provides the commands it is asked for. */
  aptWorks?: boolean;
  /** The commands already installed, of those the script looks for (see EVERYTHING). */
  installed: string[];
  /** Whether $CHROMIUM_PATH points at an executable. */
  chromium?: boolean;
  /** Whether the project has a node_modules, and whether `npm ls` finds it complete. */
  nodeModules?: "complete" | "stale" | "absent";
}

interface SetupRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The stand-ins' calls, in order, one "command args" line each. */
  calls: string[];
}

const sandboxes: string[] = [];
after(() => {
  for (const dir of sandboxes) rmSync(dir, { recursive: true, force: true });
});

/** A stand-in command in `bin`: a bash script that records its call and then runs `body`. */
function standIn(bin: string, name: string, calls: string, body = ""): void {
  const path = join(bin, name);
  writeFileSync(path, `#!${BASH}\necho "${name} $*" >>'${calls}'\n${body}\n`);
  chmodSync(path, 0o755);
}

/** An installed tool that does nothing (the script only looks for it). */
function presentTool(bin: string, name: string): void {
  writeFileSync(join(bin, name), `#!${BASH}\nexit 0\n`);
  chmodSync(join(bin, name), 0o755);
}

function sandbox(machine: Machine): { root: string; env: NodeJS.ProcessEnv; calls: string } {
  const root = mkdtempSync(join(tmpdir(), "sluice-test-setup-"));
  sandboxes.push(root);
  const bin = join(root, "bin");
  const project = join(root, "project");
  const calls = join(root, "calls");
  mkdirSync(bin);
  mkdirSync(join(project, "scripts"), { recursive: true });
  copyFileSync(SCRIPT, join(project, SCRIPT));
  writeFileSync(calls, "");
  for (const tool of ["chmod", "rm"]) symlinkSync(realCommand(tool), join(bin, tool));
  for (const tool of machine.installed) presentTool(bin, tool);

  writeFileSync(join(bin, "id"), `#!${BASH}\necho ${machine.uid}\n`);
  writeFileSync(join(bin, "uname"), `#!${BASH}\necho ${machine.os ?? "Linux"}\n`);
  chmodSync(join(bin, "id"), 0o755);
  chmodSync(join(bin, "uname"), 0o755);
  if (machine.apt ?? true) {
    // `apt-get install` puts a do-nothing executable in bin for each package it is given
    // (named as the command the package provides).
    const provide = `if [ "$1" = install ]; then for p in "$@"; do case $p in php-cli) p=php;; golang-go) p=go;; nghttp2-client) p=nghttp;; esac; case $p in -*|install) ;; *) printf '#!${BASH}\\n' >'${bin}'/$p; chmod +x '${bin}'/$p;; esac; done; fi`;
    standIn(bin, "apt-get", calls, (machine.aptWorks ?? true) ? provide : "");
  }
  const stale = machine.nodeModules === "stale";
  standIn(
    bin,
    "npm",
    calls,
    stale ? 'if [ "$1" = ls ]; then echo "npm error missing: left-pad@^1.3.0" >&2; exit 1; fi' : "",
  );
  if ((machine.nodeModules ?? "complete") !== "absent") mkdirSync(join(project, "node_modules"));

  const chromium = join(root, "chromium");
  if (machine.chromium ?? true) presentTool(root, "chromium");
  // SBIN_DIRS empty: this machine's own /usr/sbin/nginx is not looked at.
  return { root, env: { PATH: bin, CHROMIUM_PATH: chromium, SBIN_DIRS: "" }, calls };
}

function runSetup(machine: Machine): SetupRun {
  const { root, env, calls } = sandbox(machine);
  const result = spawnSync(BASH, [join(root, "project", SCRIPT)], {
    env,
    encoding: "utf8",
    timeout: 10_000,
  });
  if (result.error) throw result.error;
  const lines = readFileSync(calls, "utf8").split("\n");
  return { ...result, calls: lines.filter((line) => line !== "") };
}

/**
 * The publishers', the nginx test's and the HTTP/2 test's tools, installed in every case
 * below unless left out.
 */
const OUTSIDE_TOOLS = ["ruby", "php", "go", "rustc", "openssl", "nginx", "nghttp"];
const EVERYTHING: Machine["installed"] = ["curl", "redis-server", "promtool", ...OUTSIDE_TOOLS];

describe("scripts/test-setup.sh", () => {
  test("npm test runs it first, before the build", () => {
    const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts;
    assert.equal(scripts.pretest, `bash ${SCRIPT}`);
  });

  test("with everything installed it exits 0 at once, silent, without calling apt-get", () => {
    const run = runSetup({ uid: 0, installed: EVERYTHING });
    assert.equal(run.stderr, "");
    assert.equal(run.stdout, "");
    assert.equal(run.status, 0);
    assert.deepEqual(run.calls, ["npm ls --depth=0"]);
  });

  test("a user who is not root on Debian is stopped at once with the exact apt-get command", () => {
    const run = runSetup({ uid: 1000, installed: ["curl", "promtool", ...OUTSIDE_TOOLS] });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^test setup: missing redis-server\./);
    assert.ok(
      run.stderr.includes(
        "\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server\n",
      ),
      run.stderr,
    );
    assert.deepEqual(run.calls, [], "neither apt-get nor npm was run");
  });

  test("the command lists every missing package, for one apt-get", () => {
    const run = runSetup({ uid: 1000, installed: OUTSIDE_TOOLS });
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^test setup: missing curl, redis-server, promtool \(Debian package prometheus\)\./,
    );
    assert.ok(
      run.stderr.includes(
        "sudo apt-get install -y --no-install-recommends curl redis-server prometheus\n",
      ),
      run.stderr,
    );
  });

  test("the publishers' tools, nginx and nghttp are named with their Debian packages", () => {
    const run = runSetup({ uid: 1000, installed: ["curl", "redis-server", "promtool"] });
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^test setup: missing ruby, php \(the CLI\), go, rustc, openssl, nginx, nghttp \(Debian package nghttp2-client\)\./,
    );
    assert.ok(
      run.stderr.includes(
        "sudo apt-get install -y --no-install-recommends ruby php-cli golang-go rustc openssl nginx nghttp2-client\n",
      ),
      run.stderr,
    );
  });

  test("as root it installs nghttp from nghttp2-client, then carries on", () => {
    const installed = EVERYTHING.filter((tool) => tool !== "nghttp");
    const run = runSetup({ uid: 0, installed });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.calls, [
      "apt-get update",
      "apt-get install -y --no-install-recommends nghttp2-client",
      "npm ls --depth=0",
    ]);
  });

  test("on macOS nghttp comes from brew's nghttp2", () => {
    const installed = ["curl", "redis-server", "promtool", ...OUTSIDE_TOOLS];
    const run = runSetup({
      uid: 501,
      os: "Darwin",
      apt: false,
      installed: installed.filter((tool) => tool !== "nghttp"),
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^test setup: missing nghttp \(Debian package nghttp2-client\)\./);
    assert.ok(run.stderr.includes("\n  brew install nghttp2\n"), run.stderr);
  });

  test("as root on Debian it installs what is missing with apt-get, then carries on", () => {
    const run = runSetup({ uid: 0, installed: ["redis-server", "promtool", ...OUTSIDE_TOOLS] });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.calls, [
      "apt-get update",
      "apt-get install -y --no-install-recommends curl",
      "npm ls --depth=0",
    ]);
  });

  test("as root it installs php and go from php-cli and golang-go, then carries on", () => {
    const run = runSetup({
      uid: 0,
      installed: [
        "curl",
        "redis-server",
        "promtool",
        "ruby",
        "rustc",
        "openssl",
        "nginx",
        "nghttp",
      ],
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.calls, [
      "apt-get update",
      "apt-get install -y --no-install-recommends php-cli golang-go",
      "npm ls --depth=0",
    ]);
  });

  test("as root, a tool that apt-get did not provide still stops it, naming the tool", () => {
    const run = runSetup({
      uid: 0,
      installed: ["redis-server", "promtool", ...OUTSIDE_TOOLS],
      aptWorks: false,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^test setup: still missing curl\./);
    assert.ok(!run.calls.includes("npm ls --depth=0"), "stopped before npm");
  });

  test("on macOS it gives the brew command", () => {
    const run = runSetup({
      uid: 501,
      os: "Darwin",
      apt: false,
      installed: ["curl", ...OUTSIDE_TOOLS],
    });
    assert.equal(run.status, 1);
    assert.ok(run.stderr.includes("\n  brew install redis\n"), run.stderr);
    assert.ok(run.stderr.includes("\n  brew install prometheus\n"), run.stderr);
    assert.ok(!run.stderr.includes("apt-get"), run.stderr);
  });

  test("elsewhere it names what to install with the system's package manager", () => {
    const run = runSetup({
      uid: 1000,
      apt: false,
      installed: ["redis-server", "promtool", ...OUTSIDE_TOOLS],
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^test setup: missing curl\./);
    assert.match(run.stderr, /with your package manager: curl, Redis/);
  });

  test("a CHROMIUM_PATH that is not an executable stops it, even as root", () => {
    const run = runSetup({ uid: 0, installed: EVERYTHING, chromium: false });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^test setup: CHROMIUM_PATH=\S+chromium is not an executable file/);
    assert.deepEqual(run.calls, [], "apt-get's chromium would not be at that path");
  });

  test("a fresh clone gets npm ci", () => {
    const run = runSetup({ uid: 1000, installed: EVERYTHING, nodeModules: "absent" });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.calls, ["npm ci --no-audit --no-fund"]);
  });

  test("a node_modules that no longer matches package.json stops it, and is left alone", () => {
    const run = runSetup({ uid: 0, installed: EVERYTHING, nodeModules: "stale" });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^test setup: node_modules does not match package\.json:\n/);
    assert.match(run.stderr, /npm error missing: left-pad@\^1\.3\.0/);
    assert.match(run.stderr, /Run npm ci \(or npm install\), then npm test again\./);
    assert.deepEqual(run.calls, ["npm ls --depth=0"]);
  });
});
