/*
 * A server started with its stdout piped to a log reader that goes away (a parent that
 * spawned it with piped stdio exits, as when `node server.js | shipper` loses its shipper)
 * must still exit on SIGTERM or SIGINT with handleSignals: pino's asynchronous destination
 * used to retry its exit-time write to the broken pipe every 100 ms for ever.
 *
 * The server (test/fixtures/broken-log-pipe-server.ts) is the child of
 * test/fixtures/broken-log-pipe-parent.ts, which reports its pid and exits; the server is then
 * no child of ours, so its exit is read from /proc (a zombie counts as exited: whoever adopted
 * it reaps it in its own time).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { describe, type TestContext, test } from "node:test";
import { waitFor, within } from "./support/wait.js";

const PARENT = "test/fixtures/broken-log-pipe-parent.ts";
/** App's default closeTimeout: the issue asks for the exit within it. */
const CLOSE_TIMEOUT_MS = 10_000;
/** How long the exit waits at most for a destination's pending log writes (documented). */
const LOG_SETTLE_TIMEOUT_MS = 500;

/**
 * Starts a server whose stdout and stderr reader has exited (or, with READER=stalled, stays
 * but reads nothing more); resolves its pid and port. `env` goes to both fixtures.
 */
async function serverBehindLogReader(t: TestContext, env: Record<string, string> = {}) {
  const parent = spawn(process.execPath, ["--import", "tsx", PARENT], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => parent.kill("SIGKILL"));
  const exited = once(parent, "exit");
  let output = "";
  parent.stdout.on("data", (data) => {
    output += data;
  });
  await waitFor(() => output.includes("\n"), "the log reader to start the server", 20_000);
  const { pid, port } = JSON.parse(output) as { pid: number; port: number };
  t.after(() => {
    if (running(pid)) process.kill(pid, "SIGKILL");
  });
  if (env.READER !== "stalled") {
    const [code] = await within(exited, "the log reader to exit", 5000);
    assert.equal(code, 0, "the log reader exited");
  }
  return { pid, port };
}

/** Whether the process is alive: not gone and not a zombie (Linux /proc, else signal 0). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && process.platform === "linux") {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function signalAndAwaitExit(pid: number, signal: NodeJS.Signals, ms: number): Promise<void> {
  assert.ok(running(pid), "the server runs before the signal");
  process.kill(pid, signal);
  await waitFor(() => !running(pid), `the server to exit after ${signal}`, ms);
}

describe("a log reader that goes away does not keep the server from exiting", () => {
  test("SIGTERM: the default logger's server exits within the close timeout", async (t) => {
    const { pid } = await serverBehindLogReader(t);
    await signalAndAwaitExit(pid, "SIGTERM", CLOSE_TIMEOUT_MS);
  });

  test("SIGINT: the default logger's server exits within the close timeout", async (t) => {
    const { pid } = await serverBehindLogReader(t);
    await signalAndAwaitExit(pid, "SIGINT", CLOSE_TIMEOUT_MS);
  });

  test("the user's own pino() (asynchronous destination) exits on SIGTERM too", async (t) => {
    const { pid } = await serverBehindLogReader(t, { LOGGER: "own" });
    await signalAndAwaitExit(pid, "SIGTERM", CLOSE_TIMEOUT_MS);
  });

  test("a destination holding its lines until a minLength exits on SIGTERM too", async (t) => {
    const { pid } = await serverBehindLogReader(t, { LOGGER: "buffered" });
    await signalAndAwaitExit(pid, "SIGTERM", CLOSE_TIMEOUT_MS);
  });

  test("a destination that never finishes a write holds the exit at most 500 ms", async (t) => {
    const { pid } = await serverBehindLogReader(t, { LOGGER: "stuck" });
    // The close itself is immediate (no connections): the exit comes after the 500 ms wait
    // (not before: the wait happens) and well before twice it.
    const started = performance.now();
    await signalAndAwaitExit(pid, "SIGTERM", LOG_SETTLE_TIMEOUT_MS + 400);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= LOG_SETTLE_TIMEOUT_MS - 50, `exited after ${elapsed.toFixed(0)} ms`);
  });

  test("the user's own SIGTERM handler (close, then process.exit) exits with the default logger", async (t) => {
    const { pid } = await serverBehindLogReader(t, { SIGNALS: "own" });
    await signalAndAwaitExit(pid, "SIGTERM", CLOSE_TIMEOUT_MS);
  });

  test("a log reader that stops reading (a full pipe) neither blocks the server nor its exit", async (t) => {
    const { pid, port } = await serverBehindLogReader(t, { READER: "stalled", FLOOD: "2" });
    // It logged more than the pipe holds and still answers (a 404: no route there).
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      signal: AbortSignal.timeout(3000),
    });
    assert.equal(response.status, 404);
    await response.arrayBuffer();
    await signalAndAwaitExit(pid, "SIGTERM", CLOSE_TIMEOUT_MS);
  });

  test("what a stalled reader leaves queued is bounded (16 MiB): 64 MiB logged, the heap stays small", async (t) => {
    const { pid, port } = await serverBehindLogReader(t, { READER: "stalled", FLOOD: "64" });
    const response = await fetch(`http://127.0.0.1:${port}/heap`, {
      signal: AbortSignal.timeout(10_000),
    });
    const { heapUsed } = (await response.json()) as { heapUsed: number };
    // 16 MiB of queued lines plus the app; without the bound all 64 MiB stay queued.
    assert.ok(heapUsed < 40 * 1024 * 1024, `heap in use: ${(heapUsed / 2 ** 20).toFixed(1)} MiB`);
    await signalAndAwaitExit(pid, "SIGTERM", CLOSE_TIMEOUT_MS);
  });
});
