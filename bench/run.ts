import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseConfig } from "./config.js";
import { pinSelf } from "./lib/pinning.js";
import { renderReport } from "./lib/report.js";
import { checkJson, checkNdjson, checkSse, checkWebSocket } from "./lib/sanity.js";
import type { ScenarioResult } from "./lib/scenario.js";
import { ROOT, type ServerProcess, startServer } from "./lib/servers.js";
import { jsonScenario } from "./scenarios/json.js";
import { ndjsonScenario } from "./scenarios/ndjson.js";
import { sseScenarios } from "./scenarios/sse.js";
import { wsScenarios } from "./scenarios/ws.js";

/*
 * sluice vs a hand-written node:http server (with the `ws` package for WebSockets). Each
 * server runs in its own process pinned to core 0; this process (the load generator) pins
 * itself to core 1. Progress goes to stderr, the markdown report to stdout and
 * bench/results/latest.md.
 *
 *   npm run bench -- --quick        # about a minute and a half
 *   npm run bench                   # full
 *   npm run bench -- --dist         # sluice from dist/ (npm run build first)
 *   npm run bench -- --profile --only=json   # with --cpu-prof, see bench/profile-summary.ts
 */
const RESULTS_DIR = join(ROOT, "bench", "results");
const PROFILES_DIR = join(RESULTS_DIR, "profiles");

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const pinned = pinSelf();
  const nodeArgs = config.profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILES_DIR}`] : [];
  const baseline = await startServer("node:http", "node-http.ts", nodeArgs);
  const sluiceEnv = { BENCH_SLUICE_DIST: config.dist ? "1" : "0" };
  const sluice = await startServer("sluice", "sluice.ts", nodeArgs, sluiceEnv);
  try {
    await checkServers(baseline, sluice);
    const scenarios: ScenarioResult[] = [];
    if (config.only.has("json")) scenarios.push(await jsonScenario(config, baseline, sluice));
    if (config.only.has("ndjson")) scenarios.push(await ndjsonScenario(config, baseline, sluice));
    if (config.only.has("sse")) scenarios.push(...(await sseScenarios(config, baseline, sluice)));
    if (config.only.has("ws")) scenarios.push(...(await wsScenarios(config, baseline, sluice)));
    const mode = [
      config.quick ? "--quick" : "full",
      `sluice ${sourceRevision()} from ${config.dist ? "dist/" : "src/ via tsx"}`,
      ...(config.profile ? ["PROFILED (slower)"] : []),
    ].join(", ");
    publish(renderReport(scenarios, reportContext(mode, pinned)));
  } finally {
    await Promise.all([baseline.stop(), sluice.stop()]);
  }
  if (config.profile) console.error(`profiles in ${PROFILES_DIR}`);
}

async function checkServers(baseline: ServerProcess, sluice: ServerProcess): Promise<void> {
  for (const server of [baseline, sluice]) await checkJson(server.name, server.port, "/json");
  await checkNdjson(baseline.name, baseline.port, "/ndjson");
  await checkNdjson(sluice.name, sluice.port, "/ndjson/sync");
  await checkNdjson(sluice.name, sluice.port, "/ndjson/async");
  for (const server of [baseline, sluice]) await checkSse(server.name, server.port);
  for (const server of [baseline, sluice]) await checkWebSocket(server.name, server.port);
}

/** The commit measured, and whether src/ differs from it. */
function sourceRevision(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", ROOT, ...args], { encoding: "utf8" });
    const dirty = git("status", "--porcelain", "--", "src").trim() !== "";
    return `@${git("rev-parse", "--short", "HEAD").trim()}${dirty ? " + uncommitted src/ changes" : ""}`;
  } catch {
    return "(no git revision)";
  }
}

function reportContext(mode: string, pinned: boolean) {
  return {
    mode,
    pinned,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? "unknown CPU"} ×${cpus().length}`,
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
  };
}

function publish(markdown: string): void {
  process.stdout.write(markdown);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, "latest.md"), markdown);
  console.error(`\nwritten to ${join(RESULTS_DIR, "latest.md")}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
