/*
 * The HTTP/2 benchmark (bench/h2-fanout.ts, `npm run bench:h2`) must keep working: a short run
 * with 20 streams (20 HTTP/1.1 connections, 2 h2 connections of 10 streams, 20 h2 connections
 * of one), SSE and NDJSON, over TLS and in cleartext, from src/ (no build needed). No figure is
 * asserted, only that every case measured deliveries and that every stream got every event
 * exactly once (the benchmark fails the run otherwise). How the subscribers find the events
 * in a body, however its bytes are split, is checked on its own.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, test } from "node:test";
import { SeqLines } from "../bench/lib/seq-lines.js";
import { describeRun, runCommand } from "./support/command.js";

const ROOT = resolve(import.meta.dirname, "..");
const SMOKE = ["--streams=20", "--per-connection=10", "--warmup=0.3", "--duration=1", "--runs=1"];

function runBench(args: string[]) {
  return runCommand(process.execPath, ["--import", "tsx", "bench/h2-fanout.ts", ...args], {
    cwd: ROOT,
    // Twelve cases, each a server started through tsx, on a busy 2-core machine: this bounds a hang.
    timeout: 240_000,
  });
}

interface Row {
  scenario: string;
  label: string;
  samples: Record<string, number>[];
}

describe("bench/h2-fanout.ts", () => {
  test("a short run of every case reports deliveries, each stream receiving every event once", async () => {
    const run = await runBench([...SMOKE, "--src", "--json"]);
    assert.equal(run.code, 0, describeRun("the benchmark", run));
    const { rows } = JSON.parse(run.stdout) as { rows: Row[] };
    const cases = rows.map((row) => `${row.scenario}: ${row.label}`);
    for (const scenario of ["SSE over TLS", "NDJSON over TLS"]) {
      for (const label of [
        "HTTPS/1.1",
        "h2, 10 streams per connection",
        "h2, 1 stream per connection",
      ])
        assert.ok(cases.includes(`${scenario}: ${label}`), `${scenario}: ${label} in ${cases}`);
    }
    for (const scenario of ["SSE in cleartext", "NDJSON in cleartext"]) {
      for (const label of [
        "HTTP/1.1",
        "h2c, 10 streams per connection",
        "h2c, 1 stream per connection",
      ])
        assert.ok(cases.includes(`${scenario}: ${label}`), `${scenario}: ${label} in ${cases}`);
    }
    assert.equal(rows.length, 12);
    for (const { scenario, label, samples } of rows) {
      const name = `${scenario}, ${label}`;
      assert.equal(samples.length, 1, name);
      const [sample] = samples;
      assert.ok(sample.published > 0, `${name}: published ${sample.published}`);
      assert.equal(sample["deliveries checked"], sample.published * 20, name);
      assert.ok(sample["deliveries/s"] > 0, `${name}: ${sample["deliveries/s"]} deliveries/s`);
      for (const metric of ["server CPU µs/delivery", "server RSS KB/stream", "p99 latency ms"]) {
        assert.ok(Number.isFinite(sample[metric]), `${name}: ${metric} ${sample[metric]}`);
      }
    }
  });

  test("a bad argument stops it with what fits", async () => {
    const run = await runBench(["--streams=25", "--per-connection=10"]);
    assert.equal(run.code, 1, describeRun("the benchmark", run));
    assert.match(run.stderr, /--streams \(25\) must be a multiple of --per-connection \(10\)/);
    const shapes = await runBench(["--shapes=sse,websocket"]);
    assert.equal(shapes.code, 1, describeRun("the benchmark", shapes));
    assert.match(shapes.stderr, /--shapes: a list of sse, ndjson, got "sse,websocket"/);
  });
});

describe("SeqLines: the events of an SSE or NDJSON body", () => {
  const sse = 'id: 0\ndata: {"seq":0,"t":1}\n\n: keep-alive\n\nid: 1\ndata: {"seq":1,"t":2}\n\n';
  const ndjson = '{"seq":0,"t":1}\n{"seq":1,"t":2}\n';

  function deliveries(body: string, splitAt: number[]): string[] {
    const seen: string[] = [];
    const lines = new SeqLines((bytes, start, end) =>
      seen.push(bytes.toString("utf8", start, end)),
    );
    const bytes = Buffer.from(body);
    let from = 0;
    for (const at of [...splitAt, bytes.length]) {
      // Each read in a buffer of its own with bytes around it, as a reused read buffer would be.
      const read = Buffer.concat([
        Buffer.from("xx"),
        bytes.subarray(from, at),
        Buffer.from("\nyy"),
      ]);
      lines.push(read, 2, 2 + at - from);
      from = at;
    }
    return seen;
  }

  test("an SSE event's data and an NDJSON line are each delivered once, other lines skipped", () => {
    assert.deepEqual(deliveries(sse, []), ['{"seq":0,"t":1}', '{"seq":1,"t":2}']);
    assert.deepEqual(deliveries(ndjson, []), ['{"seq":0,"t":1}', '{"seq":1,"t":2}']);
  });

  test("however the body is split into reads, the same events come", () => {
    for (const body of [sse, ndjson]) {
      for (let first = 1; first < body.length; first++) {
        for (const second of [first + 1, first + 7]) {
          const splits = second < body.length ? [first, second] : [first];
          assert.deepEqual(
            deliveries(body, splits),
            ['{"seq":0,"t":1}', '{"seq":1,"t":2}'],
            `split at ${splits}`,
          );
        }
      }
    }
  });
});
