import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { pinSelf } from "./lib/pinning.js";
import {
  benchRevision,
  describeRevision,
  unpublishableAfterRun,
  unpublishableBecause,
} from "./lib/revision.js";
import { renderScaleChart } from "./lib/scale-chart.js";
import { isFullCurve, parseScaleConfig, type ScaleConfig } from "./lib/scale-config.js";
import {
  measureCurve,
  SCALE_SERVERS,
  type ScalePool,
  type ScaleServer,
  startScalePool,
} from "./lib/scale-measure.js";
import type { ScaleKind } from "./lib/scale-protocol.js";
import { renderScaleCurve, type ScaleCurve, withScaleSection } from "./lib/scale-report.js";
import { ROOT } from "./lib/servers.js";
import { medianSample, type Sample } from "./lib/stats.js";

/*
 * The scale curve (issue 25): SSE and WebSocket fan-out at 1 000, 5 000 and 10 000
 * subscribers, sluice and node:http (the servers of `npm run bench`, (a) and (b)) side by side
 * in one run. Each server runs in its own process pinned to core 0, its open-file limit raised
 * within the hard limit for the largest count; the subscribers run in processes of 500
 * (bench/scale-subscribers.ts) pinned with this one to core 1, connecting at a bounded rate.
 * Measured at each count: server CPU per delivery at a fixed event rate, and RSS per
 * connection, (RSS with N connected − RSS of the fresh server) / N, both after a full GC.
 * Every subscriber must receive every event once at every count, or the run fails.
 *
 *   npm run bench:scale                the full curve: 2 alternated runs, medians (~5 minutes)
 *   npm run bench:scale -- --counts=50,100 --duration=1 --runs=1 --src --json   (the smoke test)
 *
 * Every run writes bench/results/scale-curve.md and .svg. The full curve from a clean commit
 * also writes bench/scale-curve.md, bench/scale-curve.svg and the "Scale curve" section of
 * BENCHMARKS.md (the generated part, then bench/scale-curve-notes.md, written by hand).
 */

const KINDS: ScaleKind[] = ["sse", "ws"];
const RESULTS = join(ROOT, "bench", "results");
const PUBLISHED = ["BENCHMARKS.md", "bench/scale-curve.md", "bench/scale-curve.svg"];
const NOTES = join(ROOT, "bench", "scale-curve-notes.md");

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const config = parseScaleConfig(args);
  const revision = benchRevision(ROOT, PUBLISHED);
  const dirty = unpublishableBecause(revision);
  if (dirty && isFullCurve(config) && !config.allowDirty) {
    throw new Error(
      `The full curve publishes ${PUBLISHED.join(", ")}, and only from a clean commit: ${dirty}.\n` +
        "Commit (or set aside) the changes, or pass --allow-dirty to run and print without publishing.",
    );
  }
  const pinned = pinSelf();
  const loadBefore = loadavg();
  const largest = config.counts[config.counts.length - 1];
  const pool = await startScalePool(largest);
  let runs: Map<string, Sample[][]>;
  try {
    runs = await measureAll(config, pool);
  } finally {
    pool.stop();
  }
  const curves = mediansOf(runs);
  const loadAfter = loadavg();
  if (config.json) {
    console.log(JSON.stringify({ config, curves, runs: Object.fromEntries(runs) }));
    return;
  }
  const mode = [
    `${config.runs} alternated run${config.runs > 1 ? "s" : ""}, medians`,
    `sluice ${describeRevision(revision)} from ${config.dist ? "dist/" : "src/ via tsx"}`,
    ...(pinned ? [] : ["NOT PINNED"]),
  ].join(", ");
  const context = {
    command: ["npm run bench:scale", ...(args.length > 0 ? ["--", ...args] : [])].join(" "),
    machine: `Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} ×${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    load: `${loadBefore[0].toFixed(2)} before, ${loadAfter[0].toFixed(2)} after (1 min)`,
    mode,
    rate: config.rate,
    connectRate: config.connectRate,
    durationMs: config.durationMs,
  };
  const caption = `${new Date().toISOString().slice(0, 16).replace("T", " ")} · ${mode}`;
  const chart = renderScaleChart(curves, caption);
  mkdirSync(RESULTS, { recursive: true });
  const report = renderScaleCurve(curves, { ...context, chart: "scale-curve.svg" });
  writeFileSync(join(RESULTS, "scale-curve.md"), report);
  writeFileSync(join(RESULTS, "scale-curve.svg"), chart);
  process.stdout.write(report);
  console.error(`\nwritten to ${join(RESULTS, "scale-curve.md")} and scale-curve.svg`);
  if (isFullCurve(config))
    publish(
      renderScaleCurve(curves, { ...context, chart: "bench/scale-curve.svg" }),
      chart,
      revision,
    );
}

/** Every run of every server and kind, alternated: keyed by `server|kind`, one Sample[] per run. */
async function measureAll(config: ScaleConfig, pool: ScalePool): Promise<Map<string, Sample[][]>> {
  const runs = new Map<string, Sample[][]>();
  for (let round = 0; round < config.runs; round++) {
    for (const kind of KINDS) {
      for (let i = 0; i < SCALE_SERVERS.length; i++) {
        const server = SCALE_SERVERS[(i + round) % SCALE_SERVERS.length];
        const samples = await measureCurve(server, kind, config, pool);
        progress(server, kind, round, config.runs, samples);
        const key = `${server.label}|${kind}`;
        runs.set(key, [...(runs.get(key) ?? []), samples]);
      }
    }
  }
  return runs;
}

function mediansOf(runs: Map<string, Sample[][]>): ScaleCurve[] {
  return [...runs].map(([key, samples]) => {
    const [server, kind] = key.split("|") as [string, ScaleKind];
    const points = samples[0].map((_, i) => medianSample(samples.map((run) => run[i])));
    return { server, kind, points };
  });
}

function progress(
  server: ScaleServer,
  kind: ScaleKind,
  round: number,
  runs: number,
  samples: Sample[],
): void {
  const points = samples.map(
    (sample) =>
      `${sample.subscribers}: ${sample["server CPU µs/delivery"].toFixed(2)} µs/delivery, ${sample["RSS KB/connection"].toFixed(1)} KB/conn, CPU ${sample["server CPU %"].toFixed(0)} %, ${sample["delivered % of due"].toFixed(0)} % of due`,
  );
  console.error(`${server.label} ${kind}, run ${round + 1}/${runs}:\n  ${points.join("\n  ")}`);
}

/** The published files, unless the tree is, or became, unclean. */
function publish(report: string, chart: string, revision: ReturnType<typeof benchRevision>): void {
  const reason = unpublishableAfterRun(revision, ROOT, PUBLISHED);
  if (reason) {
    console.error(`${PUBLISHED.join(", ")} not written: ${reason}`);
    return;
  }
  writeFileSync(join(ROOT, "bench", "scale-curve.md"), report);
  writeFileSync(join(ROOT, "bench", "scale-curve.svg"), chart);
  const notes = existsSync(NOTES) ? `\n${readFileSync(NOTES, "utf8")}` : "";
  const benchmarks = join(ROOT, "BENCHMARKS.md");
  writeFileSync(benchmarks, withScaleSection(readFileSync(benchmarks, "utf8"), report + notes));
  console.error(`and to ${PUBLISHED.join(", ")}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
