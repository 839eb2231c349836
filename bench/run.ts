import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { type BenchConfig, parseConfig } from "./config.js";
import { renderChart } from "./lib/chart.js";
import { type FreshPeers, freshPeers } from "./lib/fresh-peers.js";
import { PEERS, type Peer, type RunningPeer, startPeer, takesPart } from "./lib/peers.js";
import { pinSelf } from "./lib/pinning.js";
import { checkRealtime } from "./lib/realtime-sanity.js";
import { renderReport } from "./lib/report.js";
import {
  type BenchRevision,
  benchRevision,
  describeRevision,
  unpublishableAfterRun,
  unpublishableBecause,
} from "./lib/revision.js";
import { checkJson, checkNdjson, checkSse, checkWebSocket } from "./lib/sanity.js";
import type { ScenarioResult } from "./lib/scenario.js";
import { ROOT } from "./lib/servers.js";
import { checkSocketIo } from "./lib/socketio-sanity.js";
import { idleScenarios } from "./scenarios/idle.js";
import { jsonScenario } from "./scenarios/json.js";
import { ndjsonScenario } from "./scenarios/ndjson.js";
import { sseScenarios } from "./scenarios/sse.js";
import { wsScenarios } from "./scenarios/ws.js";

/*
 * sluice, a hand-written node:http server (with `ws` for WebSockets: the baseline) and the
 * peers users would otherwise pick, in one run. Each server runs in its own process pinned
 * to core 0; this process (the load generator) pins itself to core 1. Progress goes to
 * stderr, the markdown report to stdout and bench/results/latest.md (+ latest.svg). A run of
 * every scenario on every server also writes BENCHMARKS.md and bench/chart.svg, but only from a
 * clean commit (figures anyone can reproduce): with uncommitted changes such a run is refused,
 * unless --allow-dirty is given, and then it prints its report and never writes those files.
 *
 *   npm run bench -- --quick        # under two minutes: one run each, shorter windows
 *   npm run bench                   # full: 5 runs each, medians
 *   npm run bench -- --only=ws --servers=sluice      # a part, against the baseline
 *   npm run bench -- --only=sse --servers="sluice,sluice topics"   # (g): through app.publish
 *   npm run bench -- --only=ws --servers="sluice topics,sluice realtime,socket.io"  # app.realtime
 *   npm run bench -- --only=sse --only=ws \
 *     --servers="sluice,sluice json echo,sluice zod,sluice zod+output,sluice topics,sluice topics zod"
 *                                   # what schemas cost: bench/schema-cost.md
 *   npm run bench -- --only=sse --only=ws --only=idle --servers="sluice,floor,floor+cork"
 *                                   # sluice against the floor: not a framework, Node's limit
 *   npm run bench -- --src          # sluice from src/ through tsx instead of dist/
 *   npm run bench -- --profile --only=json   # with --cpu-prof, see bench/profile-summary.ts
 *   npm run bench -- --allow-dirty   # a full run with uncommitted changes: printed, not published
 */
const RESULTS_DIR = join(ROOT, "bench", "results");
const PROFILES_DIR = join(RESULTS_DIR, "profiles");
/** What a full run writes: the tree is still "clean" once they have changed. */
const PUBLISHED = ["BENCHMARKS.md", "bench/chart.svg"];
const ALLOW_DIRTY = "--allow-dirty";
/**
 * The sections of BENCHMARKS.md kept in bench/, in their order after the tables: written by
 * hand, but for hub-fanout.md, which `npm run bench:hub` writes.
 */
const HAND_WRITTEN = [
  "gaps.md",
  "schema-cost.md",
  "hub-fanout.md",
  "h2-fanout.md",
  "scale-curve.md",
  "scale-curve-notes.md",
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const allowDirty = args.includes(ALLOW_DIRTY);
  const config = parseConfig(args.filter((arg) => arg !== ALLOW_DIRTY));
  const revision = benchRevision(ROOT, PUBLISHED);
  const dirty = unpublishableBecause(revision);
  if (dirty && publishes(config) && !allowDirty) {
    // Refused before the run, not after: a full run takes a quarter of an hour.
    console.error(
      `A full run publishes BENCHMARKS.md, and only from a clean commit: ${dirty}.\n` +
        `Commit (or set aside) the changes, or pass ${ALLOW_DIRTY} to run and print without publishing.`,
    );
    process.exitCode = 1;
    return;
  }
  const pinned = pinSelf();
  const nodeArgs = config.profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILES_DIR}`] : [];
  const env = { BENCH_SLUICE_DIST: config.dist ? "1" : "0" };
  const chosen = PEERS.filter((peer) => config.servers.has(peer.name));
  const scenarios: ScenarioResult[] = [];
  if (["json", "ndjson", "sse", "ws"].some((name) => config.only.has(name as never))) {
    await checkServers(chosen, nodeArgs, env);
    scenarios.push(...(await runningScenarios(config, freshPeers(chosen, nodeArgs, env))));
  }
  if (config.only.has("idle"))
    scenarios.push(...(await idleScenarios(config, chosen, nodeArgs, env)));
  publish(config, scenarios, pinned, args, revision);
  if (config.profile) console.error(`profiles in ${PROFILES_DIR}`);
}

/** Each scenario on servers started for it (see bench/lib/fresh-peers.ts). */
async function runningScenarios(config: BenchConfig, fresh: FreshPeers): Promise<ScenarioResult[]> {
  const scenarios: ScenarioResult[] = [];
  if (config.only.has("sse")) scenarios.push(...(await sseScenarios(config, fresh)));
  if (config.only.has("ws")) scenarios.push(...(await wsScenarios(config, fresh)));
  if (config.only.has("ndjson")) {
    scenarios.push(await fresh("ndjson", (peers) => ndjsonScenario(config, peers)));
  }
  if (config.only.has("json")) {
    scenarios.push(await fresh("json", (peers) => jsonScenario(config, peers)));
  }
  return scenarios;
}

/**
 * Every server must answer what the benchmark expects before its speed is measured (what it
 * serves, as its scenarios use it: see `scenarios` in bench/lib/peers.ts). The checks run in
 * processes of their own, stopped before any measurement.
 */
async function checkServers(
  chosen: readonly Peer[],
  nodeArgs: string[],
  env: Record<string, string>,
): Promise<void> {
  for (const chosenPeer of chosen) {
    const peer = await startPeer(chosenPeer, nodeArgs, env);
    try {
      await checkServer(peer);
    } finally {
      await peer.server.stop();
    }
  }
}

async function checkServer(peer: RunningPeer): Promise<void> {
  const { name, serves, server, ndjsonPath, framing } = peer;
  const topics = framing === "topics";
  if (serves.includes("json")) await checkJson(name, server.port, "/json");
  if (serves.includes("ndjson")) await checkNdjson(name, server.port, ndjsonPath ?? "/ndjson");
  if (serves.includes("sse")) {
    await checkSse(name, server.port, { saturate: takesPart(peer, "a+"), topics });
  }
  if (serves.includes("ws")) {
    if (framing === "socket.io") await checkSocketIo(name, server.port);
    else if (framing === "realtime") await checkRealtime(name, server.port);
    else {
      const echo = takesPart(peer, "c") ? (peer.echo ?? "bytes") : undefined;
      const saturate = takesPart(peer, "b+");
      const broadcast = takesPart(peer, "b") || saturate;
      await checkWebSocket(name, server.port, { echo, broadcast, saturate, topics });
    }
  }
}

/** A run of every scenario on every server, unprofiled: the one that may write BENCHMARKS.md. */
/** Only a full run of every scenario and server, unprofiled, replaces the published figures. */
function publishes(config: BenchConfig): boolean {
  return (
    !config.quick &&
    config.only.size === 5 &&
    config.servers.size === PEERS.length &&
    !config.profile
  );
}

function publish(
  config: BenchConfig,
  scenarios: ScenarioResult[],
  pinned: boolean,
  args: string[],
  revision: BenchRevision,
): void {
  const mode = [
    config.quick ? "--quick (1 run each)" : `full (${config.runs} runs each)`,
    `sluice ${describeRevision(revision)} from ${config.dist ? "dist/" : "src/ via tsx"}`,
    ...(config.profile ? ["PROFILED (slower)"] : []),
  ].join(", ");
  const context = {
    mode,
    pinned,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? "unknown CPU"} ×${cpus().length}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
    command: ["npm run bench", ...(args.length > 0 ? ["--", ...args.map(quoted)] : [])].join(" "),
  };
  const chart = renderChart(scenarios, `${context.date} · ${mode}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const report = renderReport(scenarios, { ...context, chart: "latest.svg" });
  writeFileSync(join(RESULTS_DIR, "latest.md"), report);
  writeFileSync(join(RESULTS_DIR, "latest.svg"), chart);
  process.stdout.write(report);
  console.error(`\nwritten to ${join(RESULTS_DIR, "latest.md")} and latest.svg`);
  if (!publishes(config)) return;
  // Checked again: a commit or an edit during the run would make the header name the wrong code.
  const reason = unpublishableAfterRun(revision, ROOT, PUBLISHED);
  if (reason) {
    console.error(`BENCHMARKS.md and bench/chart.svg not written: ${reason}`);
    return;
  }
  // The hand-written sections follow the tables: the explanations of the targets missed
  // (from profiles), then the measurement of what schema validation costs (a run of its own).
  const handWritten = HAND_WRITTEN.map((file) => readFileSync(join(ROOT, "bench", file), "utf8"));
  const tables = renderReport(scenarios, { ...context, chart: "bench/chart.svg" });
  writeFileSync(join(ROOT, "BENCHMARKS.md"), [tables, ...handWritten].join("\n"));
  writeFileSync(join(ROOT, "bench", "chart.svg"), chart);
  console.error("and to BENCHMARKS.md and bench/chart.svg");
}

/** An argument as a shell would need it: `"--servers=sluice,sluice topics"`. */
function quoted(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, "\\$1")}"`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
