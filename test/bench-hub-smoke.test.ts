/*
 * The hub fan-out benchmark (bench/hub-fanout.ts, `npm run bench:hub`) must keep working: a
 * short run with 20 SSE and 20 WebSocket subscribers, both servers, from src/ (no build
 * needed). No figure is asserted, only that it measured deliveries and that every subscriber
 * got every message exactly once (the benchmark fails the run otherwise). The parts that
 * decide a loss, and where the report goes in BENCHMARKS.md, are checked on their own.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { DeliveryCheck } from "../bench/lib/delivery-check.js";
import { withSection } from "../bench/lib/hub-fanout-report.js";
import { LatencyHistogram } from "../bench/lib/latency-histogram.js";
import { describeRun, runCommand } from "./support/command.js";

const ROOT = resolve(import.meta.dirname, "..");
const SMOKE = ["--sse=20", "--ws=20", "--warmup=0.3", "--duration=1", "--runs=1", "--src"];

function runBench(args: string[]) {
  return runCommand(process.execPath, ["--import", "tsx", "bench/hub-fanout.ts", ...args], {
    cwd: ROOT,
    // Five processes started through tsx on a busy 2-core machine: this bounds a hang.
    timeout: 120_000,
  });
}

interface Row {
  label: string;
  samples: Record<string, number>[];
}

describe("bench/hub-fanout.ts", () => {
  test("a short run of the hub and the library reports deliveries, each subscriber receiving every message once", async () => {
    const run = await runBench([...SMOKE, "--json"]);
    assert.equal(run.code, 0, describeRun("the benchmark", run));
    const { rows } = JSON.parse(run.stdout) as { rows: Row[] };
    assert.deepEqual(
      rows.map((row) => row.label),
      ["sluice hub, POST /publish", "library, app.publish()"],
    );
    for (const { label, samples } of rows) {
      assert.equal(samples.length, 1, label);
      const [sample] = samples;
      assert.ok(sample.published > 0, `${label}: published ${sample.published}`);
      assert.equal(sample["deliveries checked"], sample.published * 40, label);
      assert.ok(sample["deliveries/s"] > 0, `${label}: ${sample["deliveries/s"]} deliveries/s`);
      for (const metric of ["server CPU µs/delivery", "p50 latency ms", "p99 latency ms"]) {
        assert.ok(Number.isFinite(sample[metric]), `${label}: ${metric} ${sample[metric]}`);
      }
      assert.ok(sample["server RSS MB"] > 0, `${label}: RSS ${sample["server RSS MB"]}`);
    }
  });

  test("the markdown report has the table with the hub / library ratios", async () => {
    const run = await runBench(SMOKE);
    assert.equal(run.code, 0, describeRun("the benchmark", run));
    assert.match(run.stdout, /^## Hub fan-out: `sluice hub` and the library API$/m);
    assert.match(run.stdout, /^\| sluice hub, POST \/publish \| [\d,.]+ \|/m);
    assert.match(run.stdout, /^\| library, app\.publish\(\) \| [\d,.]+ \|/m);
    assert.match(run.stdout, /^\| hub \/ library \| [\d.]+× \|/m);
  });

  test("a bad argument stops it with what fits", async () => {
    const run = await runBench(["--rate=500"]);
    assert.equal(run.code, 1, describeRun("the benchmark", run));
    assert.match(
      run.stderr,
      /--rate: must be a whole number from 1 to 100 \(the hub's default publish rate limit is 100\/s per key\), got "500"/,
    );
    const unknown = await runBench(["--subscribers=5"]);
    assert.equal(unknown.code, 1, describeRun("the benchmark", unknown));
    assert.match(unknown.stderr, /unknown argument --subscribers=5/);
  });
});

describe("DeliveryCheck: what counts as a loss", () => {
  const message = (seq: number) => Buffer.from(`{"seq":${seq},"t":1,"symbol":"ACME"}`);
  const deliver = (check: DeliveryCheck, seq: number) => {
    const bytes = message(seq);
    check.deliver(bytes, 0, bytes.length);
  };

  test("every message once, in any order: nothing lost", () => {
    const check = new DeliveryCheck(new LatencyHistogram());
    for (const seq of [1, 0, 2]) deliver(check, seq);
    check.finish(3);
    assert.deepEqual([check.received, check.lost, check.duplicates], [3, 0, 0]);
    assert.equal(check.hasAll(3), true);
  });

  test("a gap and a message never sent count as lost; a repeat as a duplicate", () => {
    const check = new DeliveryCheck(new LatencyHistogram());
    for (const seq of [0, 2, 2]) deliver(check, seq);
    assert.equal(check.hasAll(4), false);
    check.finish(4);
    assert.deepEqual([check.received, check.lost, check.duplicates], [2, 2, 1]);
  });

  test("a message without a seq is malformed, not received; far seqs grow the record", () => {
    const check = new DeliveryCheck(new LatencyHistogram());
    const bytes = Buffer.from('{"t":1}');
    check.deliver(bytes, 0, bytes.length);
    deliver(check, 5000);
    assert.deepEqual([check.received, check.malformed], [1, 1]);
    check.finish(5001);
    assert.equal(check.lost, 5000);
  });

  test("latencies are recorded only while recording, and merge across processes", () => {
    const first = new LatencyHistogram();
    const check = new DeliveryCheck(first);
    const stamped = Buffer.from('{"seq":0,"t":1000}');
    check.deliver(stamped, 0, stamped.length, 1002);
    assert.equal(first.count, 0);
    first.recording = true;
    const next = Buffer.from('{"seq":1,"t":1000}');
    check.deliver(next, 0, next.length, 1004);
    const total = new LatencyHistogram();
    total.merge(first.sparse());
    total.merge([[99, 1]]); // 0.99 ms to 1 ms, from another process
    assert.equal(total.count, 2);
    assert.equal(total.percentile(0.5), 1);
    assert.equal(total.percentile(0.99), 4.01);
  });
});

describe("withSection: the hub's section of BENCHMARKS.md", () => {
  const section = "## Hub fan-out: `sluice hub` and the library API\n\nnew figures\n";

  test("appended when absent", () => {
    assert.equal(
      withSection("# Benchmarks\n\n## Other\n\ntext\n", section),
      `# Benchmarks\n\n## Other\n\ntext\n\n${section}`,
    );
  });

  test("replaced up to the next section, which is kept", () => {
    const document =
      "# B\n\n## Hub fan-out: `sluice hub` and the library API\n\nold\n\n## After\n\nkept\n";
    assert.equal(withSection(document, section), `# B\n\n${section}\n## After\n\nkept\n`);
  });

  test("replaced at the end of the file", () => {
    const document = "# B\n\n## Hub fan-out: `sluice hub` and the library API\n\nold\n";
    assert.equal(withSection(document, section), `# B\n\n${section}`);
  });
});
