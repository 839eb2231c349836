import type { ScenarioResult, TargetResult } from "./scenario.js";

export interface ReportContext {
  mode: string;
  pinned: boolean;
  node: string;
  cpu: string;
  date: string;
}

const NOTES = [
  "Notes: (f) counts complete responses (parsed by Content-Length) from 64 raw keep-alive",
  "sockets, one request in flight each; sluice's response also carries an `x-request-id`",
  "header. (d) reads one chunked response on a raw socket until `0\\r\\n\\r\\n`; MB/s counts",
  "the NDJSON payload (MB = 10^6 bytes), not HTTP framing. Server CPU comes from",
  "/proc/<pid>/stat (utime + stime, all threads; 10 ms ticks, so a few % for one stream).",
];

export function renderReport(scenarios: ScenarioResult[], context: ReportContext): string {
  return [
    "# sluice vs node:http",
    "",
    header(context),
    "",
    "Medians of 3 runs (each metric on its own). Ratio = sluice / node:http: above 1 is better",
    "for rates, below 1 is better for CPU per item.",
    "",
    ...comparisonTable(scenarios),
    "",
    "## Load generator check and run-to-run spread",
    "",
    "CPU in % of one core over the measured window (medians). The load generator is not the",
    "bottleneck while its CPU stays well under 100 % and the server's is near 100 %.",
    "",
    ...detailsTable(scenarios),
    "",
    ...NOTES,
    ...scenarioNotes(scenarios),
    "",
  ].join("\n");
}

/** Each scenario's own notes, a paragraph each; notes shared by several scenarios once. */
function scenarioNotes(scenarios: ScenarioResult[]): string[] {
  const unique = new Set(scenarios.map((scenario) => scenario.notes).filter((notes) => notes));
  return [...unique].flatMap((notes) => ["", ...(notes as string[])]);
}

function header(context: ReportContext): string {
  const pinning = context.pinned
    ? "servers pinned to core 0, load generator to core 1"
    : "not pinned (no taskset or a single core)";
  return `${context.date} · ${context.mode} · Node ${context.node} · ${context.cpu} · ${pinning}`;
}

function comparisonTable(scenarios: ScenarioResult[]): string[] {
  const lines = [
    "| scenario | metric | node:http | sluice | sluice / node:http |",
    "|---|---|--:|--:|--:|",
  ];
  for (const scenario of scenarios) {
    const [baseline, ...contenders] = scenario.results;
    for (const contender of contenders) {
      const name =
        contenders.length > 1 ? `${scenario.title} — ${contender.label}` : scenario.title;
      for (const { key, better } of scenario.metrics) {
        const [base, value] = [baseline.median[key], contender.median[key]];
        const metric = `${key} (${better} is better)`;
        lines.push(
          `| ${name} | ${metric} | ${num(base)} | ${num(value)} | ${ratio(value, base)} |`,
        );
      }
    }
  }
  return lines;
}

function detailsTable(scenarios: ScenarioResult[]): string[] {
  const lines = [
    "| scenario | server | server CPU % | load generator CPU % | each run |",
    "|---|---|--:|--:|---|",
  ];
  for (const scenario of scenarios) {
    for (const result of scenario.results) {
      const { median } = result;
      const cpu = `${num(median["server CPU %"])} | ${num(median["load generator CPU %"])}`;
      lines.push(`| ${scenario.title} | ${result.label} | ${cpu} | ${runs(result, scenario)} |`);
    }
  }
  return lines;
}

function runs(result: TargetResult, scenario: ScenarioResult): string {
  const values = result.samples.map((sample) => num(sample[scenario.headline]));
  return `${values.join(" / ")} ${scenario.headline}`;
}

/** Three significant digits at least, thousands grouped. */
function num(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || base === 0) return "n/a";
  return `${(value / base).toFixed(2)}×`;
}
