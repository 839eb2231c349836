/*
 * The scale curve (bench/scale-curve.ts, `npm run bench:scale`) must keep working: a tiny curve
 * of 50 and 100 subscribers, SSE and WebSocket, sluice and node:http, from src/ (no build
 * needed). No figure is asserted, only that every point was measured and that every subscriber
 * got every event once (the benchmark fails the run otherwise). Where the report goes in
 * BENCHMARKS.md, and what a bad argument says, are checked on their own.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { withScaleSection } from "../bench/lib/scale-report.js";
import { describeRun, runCommand } from "./support/command.js";

const ROOT = resolve(import.meta.dirname, "..");
const SMOKE = ["--counts=50,100", "--warmup=0.3", "--duration=1", "--runs=1", "--src", "--json"];

function runBench(args: string[]) {
  return runCommand(process.execPath, ["--import", "tsx", "bench/scale-curve.ts", ...args], {
    cwd: ROOT,
    // Eight servers and a subscriber process started through tsx on a busy 2-core machine.
    timeout: 150_000,
  });
}

interface Curve {
  server: string;
  kind: string;
  points: Record<string, number>[];
}

describe("bench/scale-curve.ts", () => {
  test("a tiny curve measures every point of both servers, each subscriber receiving every event once", async () => {
    const run = await runBench(SMOKE);
    assert.equal(run.code, 0, describeRun("the benchmark", run));
    const { curves } = JSON.parse(run.stdout) as { curves: Curve[] };
    assert.deepEqual(curves.map((curve) => `${curve.server} ${curve.kind}`).sort(), [
      "node:http sse",
      "node:http ws",
      "sluice sse",
      "sluice ws",
    ]);
    for (const { server, kind, points } of curves) {
      const label = `${server} ${kind}`;
      assert.deepEqual(
        points.map((point) => point.subscribers),
        [50, 100],
        label,
      );
      for (const point of points) {
        assert.ok(
          point["events published"] > 0,
          `${label}: ${point["events published"]} published`,
        );
        assert.equal(
          point["deliveries checked"],
          point["events published"] * point.subscribers,
          label,
        );
        for (const metric of ["server CPU µs/delivery", "RSS KB/connection", "deliveries/s"]) {
          assert.ok(Number.isFinite(point[metric]), `${label}: ${metric} ${point[metric]}`);
        }
        assert.ok(point["server CPU µs/delivery"] > 0, label);
      }
    }
  });

  test("a bad argument stops it with what fits", async () => {
    const run = await runBench(["--counts=5000,1000"]);
    assert.equal(run.code, 1, describeRun("the benchmark", run));
    assert.match(
      run.stderr,
      /--counts: ascending whole numbers from 1 to 15000, comma-separated, got "5000,1000"/,
    );
    const rate = await runBench(["--rate=0"]);
    assert.equal(rate.code, 1, describeRun("the benchmark", rate));
    assert.match(rate.stderr, /--rate: must be a whole number from 1 to 100, got "0"/);
    const unknown = await runBench(["--subscribers=5"]);
    assert.equal(unknown.code, 1, describeRun("the benchmark", unknown));
    assert.match(unknown.stderr, /unknown argument --subscribers=5/);
  });
});

describe("withScaleSection: the scale curve's section of BENCHMARKS.md", () => {
  const section = "## Scale curve\n\nnew figures\n";

  test("appended when absent", () => {
    assert.equal(
      withScaleSection("# Benchmarks\n\n## Other\n\ntext\n", section),
      `# Benchmarks\n\n## Other\n\ntext\n\n${section}`,
    );
  });

  test("replaced up to the next section, which is kept", () => {
    const document = "# B\n\n## Scale curve\n\nold\n\n## After\n\nkept\n";
    assert.equal(withScaleSection(document, section), `# B\n\n${section}\n## After\n\nkept\n`);
  });

  test("replaced at the end of the file, the sections before it kept", () => {
    const document = "# B\n\n## Before\n\nkept\n\n## Scale curve\n\nold\n";
    assert.equal(withScaleSection(document, section), `# B\n\n## Before\n\nkept\n\n${section}`);
  });
});
