// `npm run test:only`: the test files that do not need a quiet machine run a few at a time;
// then the ones listed in SERIAL run one at a time, with the machine to themselves. A new
// test file runs concurrently unless it is added to SERIAL.
//
//   tsx test/run.ts                  both parts
//   tsx test/run.ts --concurrent     only the concurrent part
//   tsx test/run.ts --serial         only the serial part
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { SERIAL } from "./serial-files.js";

/** Files run at once in the concurrent part: one per core of the 2-core machine CI runs on. */
const CONCURRENCY = 2;

function testFiles(): string[] {
  return readdirSync("test")
    .filter((name) => name.endsWith(".test.ts"))
    .sort()
    .map((name) => `test/${name}`);
}

/** Tests passed and failed over both parts, read from the runner's summary lines. */
const totals = { passed: 0, failed: 0 };

/**
 * The reporter's "failing tests" section of each part (it closes the part's output). Printed
 * again at the very end, so that a CI log cut to its tail still says what failed and why.
 */
const failureReports: string[] = [];
const FAILURE_REPORT_LINES = 120;

/** Runs node's test runner over `files`; resolves with its exit code. */
function runTests(files: string[], concurrency: number): Promise<number> {
  if (files.length === 0) return Promise.resolve(0);
  const args = ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`];
  const child = spawn(process.execPath, [...args, "--test-reporter=spec", ...files], {
    stdio: ["inherit", "pipe", "inherit"],
  });
  let partial = "";
  let failureReport: string[] | undefined;
  const readLine = (line: string) => {
    countSummary(line);
    if (line.startsWith("✖ failing tests:")) failureReport = [];
    failureReport?.push(line);
  };
  child.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) readLine(line);
  });
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      readLine(partial);
      if (failureReport) failureReports.push(failureReport.join("\n").trimEnd());
      resolve(signal ? 1 : (code ?? 1));
    }),
  );
}

/** The spec reporter's summary ends with the lines `ℹ pass N` and `ℹ fail N`. */
function countSummary(line: string): void {
  const summary = /^ℹ (pass|fail) (\d+)$/.exec(line);
  if (summary?.[1] === "pass") totals.passed += Number(summary[2]);
  if (summary?.[1] === "fail") totals.failed += Number(summary[2]);
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const files = testFiles();
  const missing = SERIAL.filter((file) => !files.includes(file));
  if (missing.length > 0)
    throw new Error(`test/serial-files.ts lists files that do not exist: ${missing.join(", ")}`);
  const serial = files.filter((file) => SERIAL.includes(file));
  const concurrent = files.filter((file) => !SERIAL.includes(file));
  let failed = false;
  if (only !== "--serial") {
    const started = performance.now();
    failed = (await runTests(concurrent, CONCURRENCY)) !== 0 || failed;
    console.log(`concurrent part: ${concurrent.length} files in ${seconds(started)}`);
  }
  if (only !== "--concurrent") {
    const started = performance.now();
    failed = (await runTests(serial, 1)) !== 0 || failed;
    console.log(`serial part: ${serial.length} files in ${seconds(started)}`);
  }
  printFailureReports();
  // One closing line for both parts, in the form any CI reads.
  console.log(`${totals.passed} passed, ${totals.failed} failed`);
  process.exitCode = failed || totals.failed > 0 ? 1 : 0;
}

function printFailureReports(): void {
  if (failureReports.length === 0) return;
  const lines = failureReports.join("\n\n").split("\n");
  const shown = lines.slice(0, FAILURE_REPORT_LINES);
  if (lines.length > shown.length)
    shown.push(`... (${lines.length - shown.length} more lines: see the part's own report above)`);
  console.log(`\nagain, what failed:\n${shown.join("\n")}\n`);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(0)} s`;
}

await main();
