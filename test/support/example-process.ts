import { type ChildProcess, spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { waitFor } from "./wait.js";

/**
 * Runs an example as `npm start` would (its own Node process through tsx) and resolves with
 * the URL it logged as "listening". The process is killed when the test ends.
 */
export async function startExample(
  t: TestContext,
  file: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => child.kill("SIGKILL"));
  let output = "";
  child.stdout?.on("data", (data) => {
    output += data;
  });
  // A cold tsx start takes seconds on a busy 2-core machine; this bounds a hang, not speed.
  await waitFor(() => output.includes('"listening"'), `${file} to listen`, 30_000);
  const line = output.split("\n").find((text) => text.includes('"listening"')) ?? "{}";
  return { child, url: (JSON.parse(line) as { url: string }).url };
}
