import { BASELINE, peerNamed, SLUICE } from "./peers.js";
import type { ScenarioResult, TargetResult } from "./scenario.js";
import { GOALS } from "./targets.js";

export interface ReportContext {
  mode: string;
  pinned: boolean;
  node: string;
  cpu: string;
  memory: string;
  date: string;
  command: string;
  /** The chart's path relative to the report, when one was drawn. */
  chart?: string;
}

const NOTES = [
  "Notes: (f) is loaded by wrk (Debian's, an outside loader the bench installs when missing):",
  "one thread, 64 keep-alive connections, one request in flight each; a run with a socket",
  "error or a non-2xx answer fails. (d) reads one chunked response on a raw socket until",
  "`0\\r\\n\\r\\n`; MB/s counts the NDJSON payload (MB = 10^6 bytes), not HTTP framing; each",
  "server streams the way its docs show (node:http: one `res.write` per row, waiting for",
  "'drain'; sluice: `ndjson(asyncGenerator)`; Fastify: `reply.send(Readable)`; Hono:",
  "`stream()` writing each line). Server CPU comes from /proc/<pid>/stat (utime + stime, all",
  "threads; 10 ms ticks). The load generator is one process pinned to the other core, the same",
  "code for every server; it is not the bottleneck while its CPU (details table) stays well",
  "under 100 % — at a fixed rate the server is not saturated anyway, and in the closed-loop and",
  "saturation scenarios the server's CPU is near 100 % while the generator's is lower.",
];

/** Scenario `e-sse` is shown as "(e)". */
export function shownId(scenario: ScenarioResult): string {
  return `(${scenario.id.replace(/-.*$/, "")})`;
}

export function renderReport(scenarios: ScenarioResult[], context: ReportContext): string {
  return [
    "# Benchmarks: sluice, node:http and the peers",
    "",
    header(context),
    "",
    `Command: \`${context.command}\`. Medians of each metric over the runs. Ratios are to`,
    `${BASELINE} (the hand-written node:http server, with \`ws\` for WebSockets); for rates`,
    "above 1× is better, for CPU, latency and memory below 1× is better.",
    ...(scenarios.some((scenario) => floorRatio(scenario))
      ? [
          "sluice / floor compares sluice with the floor servers (not a framework: the limit of",
          "what Node can do), read the same way; see How it is measured.",
        ]
      : []),
    "",
    ...(context.chart
      ? [`![main metric of each scenario, relative to ${BASELINE}](${context.chart})`, ""]
      : []),
    "## Targets",
    "",
    ...goalsTable(scenarios),
    "",
    "## Summary: the main metric of each scenario",
    "",
    ...summaryTable(scenarios),
    "",
    ...scenarios.flatMap(detailSection),
    "## How it is measured",
    "",
    ...NOTES,
    ...scenarioNotes(scenarios),
    ...peerNotes(scenarios),
    "",
  ].join("\n");
}

function header(context: ReportContext): string {
  const pinning = context.pinned
    ? "each server pinned to core 0, the load generator to core 1"
    : "not pinned (no taskset or a single core)";
  return [
    `${context.date} · ${context.mode} · Node ${context.node} · ${context.cpu} ·`,
    `${context.memory} · ${pinning}`,
  ].join(" ");
}

function goalsTable(scenarios: ScenarioResult[]): string[] {
  const lines = ["| target | sluice | met |", "|---|--:|:-:|"];
  for (const goal of GOALS) {
    const outcome = goal.check(scenarios);
    if (!outcome) continue;
    lines.push(`| ${goal.label} | ${outcome.shown} | ${outcome.met ? "yes" : "**no**"} |`);
  }
  return lines;
}

/** Servers in the order of their first appearance (the baseline first). */
function serverNames(scenarios: ScenarioResult[]): string[] {
  return [...new Set(scenarios.flatMap((scenario) => scenario.results.map((r) => r.label)))];
}

function summaryTable(scenarios: ScenarioResult[]): string[] {
  const names = serverNames(scenarios);
  const withFloor = scenarios.some((scenario) => floorRatio(scenario));
  const floorColumn = withFloor ? [`${SLUICE} / floor`] : [];
  const lines = [
    `| scenario | metric | ${[...names, ...floorColumn].join(" | ")} |`,
    `|---|---|${[...names, ...floorColumn].map(() => "--:").join("|")}|`,
  ];
  for (const scenario of scenarios) {
    const { key, better } = scenario.main;
    const base = scenario.results[0]?.median[key];
    const cells = names.map((name) => {
      const value = scenario.results.find((result) => result.label === name)?.median[key];
      if (value === undefined) return "—";
      return name === scenario.results[0]?.label
        ? num(value)
        : `${num(value)} (${ratio(value, base)})`;
    });
    if (withFloor) cells.push(floorCell(scenario));
    const metric = `${key} (${better} is better)`;
    lines.push(`| ${shownId(scenario)} ${scenario.title} | ${metric} | ${cells.join(" | ")} |`);
  }
  return lines;
}

function detailSection(scenario: ScenarioResult): string[] {
  const keys = scenario.metrics.map((metric) => metric.key);
  const hasCpu = scenario.results.some((result) => "server CPU %" in result.median);
  const extra = hasCpu ? ["server CPU %", "load generator CPU %"] : [];
  const lines = [
    `### ${shownId(scenario)} ${scenario.title}`,
    "",
    `| server | ${[...keys, ...extra].join(" | ")} | ${scenario.headline}, each run |`,
    `|---|${[...keys, ...extra].map(() => "--:").join("|")}|---|`,
  ];
  const base = scenario.results[0];
  for (const result of scenario.results) {
    const cells = keys.map((key) => {
      const value = result.median[key];
      return result === base ? num(value) : `${num(value)} (${ratio(value, base?.median[key])})`;
    });
    const cpu = extra.map((key) => num(result.median[key]));
    lines.push(
      `| ${result.label} | ${[...cells, ...cpu].join(" | ")} | ${runs(result, scenario)} |`,
    );
  }
  const floor = floorRatio(scenario);
  if (floor) {
    const ratios = keys.map((key) => ratio(floor.sluice.median[key], floor.floor.median[key]));
    const blanks = extra.map(() => "");
    lines.push(`| ${SLUICE} / ${floor.floor.label} | ${[...ratios, ...blanks].join(" | ")} | |`);
  }
  return [...lines, ""];
}

/**
 * sluice and the floor server with the better main metric in `scenario` (floor or
 * floor+cork), when both took part.
 */
export function floorRatio(
  scenario: ScenarioResult,
): { sluice: TargetResult; floor: TargetResult } | undefined {
  const { key, better } = scenario.main;
  const sluice = scenario.results.find((result) => result.label === SLUICE);
  const floors = scenario.results.filter(
    (result) => peerNamed(result.label)?.floor && Number.isFinite(result.median[key]),
  );
  const sign = better === "higher" ? 1 : -1;
  const floor = floors.reduce<TargetResult | undefined>(
    (best, result) =>
      best === undefined || sign * (result.median[key] - best.median[key]) > 0 ? result : best,
    undefined,
  );
  return sluice && floor ? { sluice, floor } : undefined;
}

/** The summary's sluice / floor cell: the ratio of the main metrics, and which floor. */
function floorCell(scenario: ScenarioResult): string {
  const floor = floorRatio(scenario);
  if (!floor) return "—";
  const { key } = scenario.main;
  return `${ratio(floor.sluice.median[key], floor.floor.median[key])} (${floor.floor.label})`;
}

/** Each scenario's own notes, once for scenarios sharing them. */
function scenarioNotes(scenarios: ScenarioResult[]): string[] {
  const unique = new Set(scenarios.map((scenario) => scenario.notes).filter((notes) => notes));
  return [...unique].flatMap((notes) => ["", ...(notes as string[])]);
}

/** The notes of the servers that took part and have their own (see `notes` in peers.ts). */
function peerNotes(scenarios: ScenarioResult[]): string[] {
  // Once for servers sharing them (floor and floor+cork).
  const unique = new Set(serverNames(scenarios).map((name) => peerNamed(name)?.notes));
  return [...unique].flatMap((notes) => (notes ? ["", ...notes] : []));
}

function runs(result: TargetResult, scenario: ScenarioResult): string {
  return result.samples.map((sample) => num(sample[scenario.headline])).join(" / ");
}

/** Three significant digits at least, thousands grouped. */
export function num(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || base === 0 || !Number.isFinite(value)) {
    return "n/a";
  }
  return `${(value / base).toFixed(2)}×`;
}
