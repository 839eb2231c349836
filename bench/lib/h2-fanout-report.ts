import { cpus, loadavg, totalmem } from "node:os";
import type { H2Case } from "./h2-fanout-cases.js";
import type { H2FanoutConfig } from "./h2-fanout-config.js";
import { type BenchRevision, describeRevision } from "./revision.js";
import { median, type Sample } from "./stats.js";

/** Each scenario's table: its columns, in order; the ratio rows divide by the HTTP/1.1 row. */
const COLUMNS = [
  "server CPU µs/delivery",
  "server RSS KB/stream",
  "deliveries/s",
  "p50 latency ms",
  "p99 latency ms",
  "server CPU %",
] as const;

export interface H2FanoutRow {
  case: H2Case;
  samples: Sample[];
}

/** The markdown report: how it was run, a table per scenario with ratios to HTTP/1.1, each run. */
export function renderH2Fanout(
  rows: H2FanoutRow[],
  config: H2FanoutConfig,
  revision: BenchRevision,
  pinned: boolean,
  loadAtStart: number[],
): string {
  const scenarios = [...new Set(rows.map((row) => row.case.scenario))];
  const runs = `${config.runs} run${config.runs > 1 ? "s" : ""} of every case, alternated, ${config.durationMs / 1000} s measured after ${config.warmupMs / 1000} s of warm-up`;
  return [
    "## HTTP/2 vs HTTP/1.1",
    "",
    `Command: \`npm run bench:h2\` (${runs}; medians).`,
    `sluice ${describeRevision(revision)} from ${config.dist ? "dist/" : "src/ via tsx"}, ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores (shared VM), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${pinned ? "each server pinned to core 0, the subscribers to core 1" : "not pinned (no taskset or one core)"}.`,
    `Load average ${loadAtStart.map((load) => load.toFixed(2)).join(" ")} when the run started, ${loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")} when it ended.`,
    "",
    `${config.streams.toLocaleString("en-US")} streams, ${config.rate} events/s (~100-byte JSON) published one at a time: every stream received every event exactly once in every run.`,
    "",
    ...scenarios.flatMap((scenario) => [
      ...table(
        scenario,
        rows.filter((row) => row.case.scenario === scenario),
      ),
      "",
    ]),
    "Each run (server CPU µs/delivery, RSS KB/stream, p99 ms):",
    "",
    ...rows.map(
      ({ case: measured, samples }) =>
        `- ${measured.scenario}, ${measured.label}: ${samples.map((s) => `${format(s["server CPU µs/delivery"])}, ${format(s["server RSS KB/stream"])}, ${format(s["p99 latency ms"])}`).join(" / ")}`,
    ),
    "",
  ].join("\n");
}

function table(scenario: string, rows: H2FanoutRow[]): string[] {
  const medians = rows.map(({ case: measured, samples }) => ({
    measured,
    values: COLUMNS.map((column) => median(samples.map((sample) => sample[column]))),
  }));
  const lines = [
    `| ${scenario} | ${COLUMNS.join(" | ")} |`,
    `|---|${COLUMNS.map(() => "--:").join("|")}|`,
    ...medians.map(
      ({ measured, values }) => `| ${measured.label} | ${values.map(format).join(" | ")} |`,
    ),
  ];
  const baseline = medians.find(({ measured }) => measured.baseline);
  if (!baseline) return lines;
  for (const { measured, values } of medians) {
    if (measured.baseline) continue;
    const ratios = values.map((value, i) => `${(value / baseline.values[i]).toFixed(2)}×`);
    lines.push(`| ${measured.label} / ${baseline.measured.label} | ${ratios.join(" | ")} |`);
  }
  return lines;
}

function format(value: number): string {
  if (Number.isNaN(value)) return "—";
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2);
}
