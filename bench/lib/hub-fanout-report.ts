import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { HubFanoutConfig } from "./hub-fanout-config.js";
import {
  type BenchRevision,
  benchRevision,
  describeRevision,
  sameRevision,
  unpublishableBecause,
} from "./revision.js";
import { ROOT } from "./servers.js";
import { median, type Sample } from "./stats.js";

/** Where a full run of bench/hub-fanout.ts publishes its section. */
export const HUB_FANOUT_SECTION = {
  heading: "## Hub fan-out: `sluice hub` and the library API",
  files: ["BENCHMARKS.md", "bench/hub-fanout.md"],
  /**
   * What a clean tree may have changed: the files written, and a `node_modules` symlink (a git
   * worktree sharing the main checkout's packages; .gitignore's `node_modules/` matches only a
   * directory).
   */
  ignored: ["BENCHMARKS.md", "bench/hub-fanout.md", "node_modules"],
};

/** The main table's columns, in order; its last row divides hub by library. */
const MAIN = [
  "deliveries/s",
  "server CPU µs/delivery",
  "p50 latency ms",
  "p99 latency ms",
  "server CPU %",
  "server RSS MB",
] as const;

/**
 * The details' table: latency by transport, memory before, the load generator, the HTTP
 * answer, and the deliveries in the window as a share of those due (rate × subscribers).
 */
const DETAILS = [
  "SSE p99 ms",
  "WebSocket p99 ms",
  "server RSS MB before subscribers",
  "subscribers CPU %",
  "publish answer p50 ms",
  "publish answer p99 ms",
  "delivered % of due",
] as const;

export interface HubFanoutRow {
  label: string;
  samples: Sample[];
}

/** The markdown section: how it was run, the medians, hub / library, each run's figures. */
export function renderHubFanout(
  rows: HubFanoutRow[],
  config: HubFanoutConfig,
  revision: BenchRevision,
  pinned: boolean,
  loadAtStart: number,
): string {
  const subscribers = `${config.sse.toLocaleString("en-US")} SSE and ${config.ws.toLocaleString("en-US")} WebSocket subscribers`;
  const windows = `${config.runs} run${config.runs > 1 ? "s" : ""} of each, alternated, ${config.durationMs / 1000} s measured after ${config.warmupMs / 1000} s of warm-up`;
  const title = `${(config.sse + config.ws).toLocaleString("en-US")} subscribers, ${config.rate} msg/s`;
  return [
    HUB_FANOUT_SECTION.heading,
    "",
    `Command: \`npm run bench:hub${config.full ? "" : " -- …"}\` (${windows}; medians).`,
    `sluice ${describeRevision(revision)} from ${config.dist ? "dist/" : "src/ via tsx"}, ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${pinned ? "each server pinned to core 0, the subscribers and the hub's publisher to core 1" : "not pinned (no taskset or one core)"}.`,
    `1-minute load average ${loadAtStart.toFixed(1)} when the run started, ${loadavg()[0].toFixed(1)} when it ended (the run itself adds about 1): other work on the machine moves the figures, latency most.`,
    "",
    `${subscribers} of one topic on \`/rt\` (multi-topic SSE and \`sluice.v1\`, docs/protocol.md), ${config.rate} messages/s (~100-byte JSON) published one at a time, memory broker (history 1 000). **sluice hub**: \`node dist/hub/bin.js hub\` with a publish key and no JWT options (\`/rt\` open, as the library's), published by \`POST /publish\` from the bench process. **library**: an App with \`app.realtime("/rt")\`, publishing with \`app.publish()\` on a timer in the server process (bench/servers/realtime-library.ts). Every subscriber received every message exactly once in every run.`,
    "",
    ...table(title, MAIN, rows, true),
    "",
    ...table("details", DETAILS, rows, false),
    "",
    "Each run (deliveries/s, server CPU µs/delivery, p99 ms):",
    "",
    ...rows.map(
      ({ label, samples }) =>
        `- ${label}: ${samples.map((s) => `${format(s["deliveries/s"])}, ${format(s["server CPU µs/delivery"])}, ${format(s["p99 latency ms"])}`).join(" / ")}`,
    ),
    "",
    ...HOW_IT_IS_MEASURED,
    "",
  ].join("\n");
}

/** A table of the medians of `columns`, one row per server, then hub / library when `ratios`. */
function table(
  title: string,
  columns: readonly string[],
  rows: HubFanoutRow[],
  ratios: boolean,
): string[] {
  const medians = rows.map(({ label, samples }) => ({
    label,
    values: columns.map((column) => median(samples.map((sample) => sample[column]))),
  }));
  const lines = [
    `| ${title} | ${columns.join(" | ")} |`,
    `|---|${columns.map(() => "--:").join("|")}|`,
    ...medians.map(({ label, values }) => `| ${label} | ${values.map(format).join(" | ")} |`),
  ];
  const [hub, library] = medians;
  if (ratios && hub && library) {
    const ratio = columns.map((_, i) => hub.values[i] / library.values[i]);
    lines.push(`| hub / library | ${ratio.map((value) => `${value.toFixed(2)}×`).join(" | ")} |`);
  }
  return lines;
}

const HOW_IT_IS_MEASURED = [
  "How it is measured. **Latency** runs from the moment a publish starts to the moment a",
  "subscriber reads the message, on one clock (bench/servers/stamp.ts: the monotonic clock from",
  "the epoch, which the processes of one machine share): the message's data carries `t`,",
  "stamped for the hub just before its `POST /publish` request is written, for the library just",
  "before `app.publish()` is called. So the hub's figures include what it adds for a backend in",
  "another language: the HTTP request, its authentication, parsing and rate limit. The hub",
  "answers a publish once its fan-out to the local subscribers is done, so the publisher keeps",
  "up to 64 keep-alive connections (a backend with many workers) rather than wait for each",
  "answer; *publish answer* is what a backend waits for. **CPU** is the server process's utime +",
  "stime (/proc) over the window, per delivery; the library's timer runs in the server and is",
  "counted, the hub's publisher (on the subscribers' core) is not, its requests' handling in the",
  "hub is. **RSS** is read at the window's end with every subscriber connected (the library server",
  "runs through tsx, whose loader its RSS before subscribers includes). **Subscribers** are raw",
  "sockets (bench/lib/realtime-sse-subscriber.ts reads the chunked SSE body,",
  "realtime-ws-subscriber.ts speaks `sluice.v1` on bench's raw WebSocket client) in processes of",
  "at most 500 connections each, under the default soft limit of 1 024 open files; the server,",
  "which holds all 2 000, is started under `ulimit -n` raised within the hard limit when the soft",
  "one is too low (bench/lib/fd-limit.ts). Each subscriber checks each message's `seq`: a loss, a",
  "duplicate or a subscriber cut off fails the run. **The rate**, 25 messages/s to 2 000",
  "subscribers, is 50 000 deliveries/s: at 4 to 10 µs per delivery (this VM's speed drifts with",
  "its neighbours: at 50 messages/s one run took 45 % of the server's core, another 100 %), it",
  "leaves each core of a 2-core machine at least half idle (server CPU % and subscribers CPU %),",
  "so latency measures a message's path, not a queue. *Delivered % of due* is the deliveries in",
  "the window over rate × subscribers: under 100 %, the server (or a busy machine) fell behind.",
];

function format(value: number): string {
  if (Number.isNaN(value)) return "—";
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2);
}

/**
 * Writes bench/hub-fanout.md (bench/run.ts appends it to BENCHMARKS.md when it rewrites the
 * file) and replaces the section in BENCHMARKS.md, unless the tree is, or became, unclean.
 */
export function publishHubFanout(report: string, revision: BenchRevision): void {
  const reason =
    unpublishableBecause(revision) ??
    (sameRevision(revision, benchRevision(ROOT, HUB_FANOUT_SECTION.ignored))
      ? undefined
      : "the tree changed during the run");
  if (reason) {
    console.error(`${HUB_FANOUT_SECTION.files.join(" and ")} not written: ${reason}`);
    return;
  }
  const section = join(ROOT, "bench", "hub-fanout.md");
  writeFileSync(section, report);
  formatMarkdown(section);
  const benchmarks = join(ROOT, "BENCHMARKS.md");
  writeFileSync(
    benchmarks,
    withSection(readFileSync(benchmarks, "utf8"), readFileSync(section, "utf8")),
  );
  console.error(`and to ${HUB_FANOUT_SECTION.files.join(" and ")}`);
}

/** Biome aligns the tables of bench/*.md (`npm run lint` checks them): the file is written as it would. */
function formatMarkdown(path: string): void {
  const biome = join(ROOT, "node_modules", ".bin", "biome");
  const formatted = spawnSync(biome, ["format", "--write", path], { stdio: "ignore" });
  if (formatted.status !== 0) console.error(`${path}: not formatted (npx biome format --write it)`);
}

/** `document` with its hub fan-out section (to the next `## ` heading) replaced, or appended. */
export function withSection(document: string, section: string): string {
  const start = document.indexOf(`\n${HUB_FANOUT_SECTION.heading}\n`);
  if (start === -1) return `${document.trimEnd()}\n\n${section.trimEnd()}\n`;
  const next = document.indexOf("\n## ", start + 1);
  const rest = next === -1 ? "" : `\n${document.slice(next + 1)}`;
  return `${document.slice(0, start + 1)}${section.trimEnd()}\n${rest}`;
}
