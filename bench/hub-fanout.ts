import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openWindow } from "./lib/cpu.js";
import {
  type FanoutTarget,
  hubTarget,
  libraryTarget,
  SUBSCRIBE_PATH,
} from "./lib/fanout-targets.js";
import { HUB_BENCH_TOPIC } from "./lib/hub-bench-topic.js";
import { type HubFanoutConfig, parseHubFanoutConfig } from "./lib/hub-fanout-config.js";
import { HUB_FANOUT_SECTION, publishHubFanout, renderHubFanout } from "./lib/hub-fanout-report.js";
import { pinSelf } from "./lib/pinning.js";
import { benchRevision, unpublishableBecause } from "./lib/revision.js";
import { printRunProgress } from "./lib/run-progress.js";
import { ROOT } from "./lib/servers.js";
import { alternate, type Sample } from "./lib/stats.js";
import { type PoolReport, SubscriberPool } from "./lib/subscriber-pool.js";

/*
 * The hub fan-out (issue 23): messages published at a fixed rate to 1 000 SSE and 1 000
 * WebSocket subscribers of one topic on `/rt`, through `sluice hub` (published with
 * `POST /publish`) and through the library API (an App with `app.realtime("/rt")` publishing
 * with `app.publish()`), in the same run. Each server runs in its own process pinned to core 0,
 * started afresh for each run; the subscribers run in a few processes of their own
 * (bench/hub-fanout-subscribers.ts) and the hub's publisher in this one, all pinned to core 1.
 * Every subscriber must receive every message exactly once, or the run fails.
 *
 *   npm run bench:hub                  full: 3 runs of each, alternated (under 2 minutes)
 *   npm run bench:hub -- --quick       1 run each, shorter windows: printed only
 *   npm run bench:hub -- --sse=20 --ws=20 --duration=1 --runs=1 --src --json   (the smoke test)
 *
 * Every run writes bench/results/hub-fanout.md. A full run also writes bench/hub-fanout.md
 * and its section of BENCHMARKS.md, only from a clean commit (see bench/lib/revision.ts):
 * with uncommitted changes it is refused unless --allow-dirty is given, and then it only prints.
 */

const RESULTS = join(ROOT, "bench", "results", "hub-fanout.md");
/** How long the last messages may take to reach every subscriber once publishing stopped. */
const DELIVERY_TIMEOUT_MS = 30_000;

/** One run of one server: its sample and what its subscribers received. */
interface RunResult {
  sample: Sample;
  report: PoolReport;
}

async function main(): Promise<void> {
  const config = parseHubFanoutConfig(process.argv.slice(2));
  const revision = benchRevision(ROOT, HUB_FANOUT_SECTION.ignored);
  const dirty = unpublishableBecause(revision);
  if (dirty && config.full && !config.allowDirty) {
    throw new Error(
      `A full run publishes ${HUB_FANOUT_SECTION.files.join(" and ")}, and only from a clean commit: ${dirty}.\n` +
        "Commit (or set aside) the changes, or pass --allow-dirty to run and print without publishing.",
    );
  }
  const pinned = pinSelf();
  const loadAtStart = loadavg()[0];
  const targets = [hubTarget(config.dist), libraryTarget(config.dist)];
  const pool = await SubscriberPool.start(config.sse + config.ws);
  try {
    const results = await alternate(targets, config.runs, async (target, round) => {
      const result = await measure(target, config, pool);
      progress(target, round, config.runs, result.sample);
      return result;
    });
    const rows = targets.map((target) => ({
      label: target.label,
      runs: results.get(target) ?? [],
    }));
    if (config.json) {
      console.log(
        JSON.stringify({
          config,
          rows: rows.map(({ label, runs }) => ({ label, samples: runs.map((run) => run.sample) })),
        }),
      );
      return;
    }
    const report = renderHubFanout(
      rows.map(({ label, runs }) => ({ label, samples: runs.map((run) => run.sample) })),
      config,
      revision,
      pinned,
      loadAtStart,
    );
    console.log(report);
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(RESULTS, report);
    console.error(`written to ${RESULTS}`);
    if (config.full) publishHubFanout(report, revision);
  } finally {
    pool.stop();
  }
}

/** One run: a fresh server, the subscribers, warm-up, the measured window, then the checks. */
async function measure(
  target: FanoutTarget,
  config: HubFanoutConfig,
  pool: SubscriberPool,
): Promise<RunResult> {
  const subscribers = config.sse + config.ws;
  const server = await target.start(subscribers);
  let publishing = false;
  try {
    const rssBefore = server.rss();
    await pool.connect(server.port, SUBSCRIBE_PATH, HUB_BENCH_TOPIC, config.sse, config.ws);
    await target.startPublishing(server, config.rate);
    publishing = true;
    await sleep(config.warmupMs);
    const closeWindow = openWindow(server.pid);
    const subscribersCpuBefore = pool.cpuMicros();
    const receivedBefore = await pool.windowStart();
    target.measuring(true);
    await sleep(config.durationMs);
    target.measuring(false);
    const receivedAfter = await pool.windowEnd();
    const window = closeWindow();
    const subscribersCpu = pool.cpuMicros() - subscribersCpuBefore;
    const rssAfter = server.rss();
    publishing = false;
    const { published, answers } = await target.stopPublishing(server);
    const report = await pool.finish(published, DELIVERY_TIMEOUT_MS);
    failOnLoss(target, report, published, subscribers, server.warnings);
    const deliveries = receivedAfter - receivedBefore;
    const { sse, ws } = report.transports;
    const sample: Sample = {
      "deliveries/s": deliveries / (window.wallMicros / 1e6),
      "server CPU µs/delivery": window.serverCpuMicros / deliveries,
      "p50 latency ms": report.latency.percentile(0.5),
      "p99 latency ms": report.latency.percentile(0.99),
      "SSE p99 ms": sse.histogram.percentile(0.99),
      "WebSocket p99 ms": ws.histogram.percentile(0.99),
      "server CPU %": (window.serverCpuMicros / window.wallMicros) * 100,
      "server RSS MB": rssAfter / 2 ** 20,
      "server RSS MB before subscribers": rssBefore / 2 ** 20,
      "subscribers CPU %": (subscribersCpu / window.wallMicros) * 100,
      "publish answer p50 ms": answers?.percentile(0.5) ?? Number.NaN,
      "publish answer p99 ms": answers?.percentile(0.99) ?? Number.NaN,
      "delivered % of due":
        (deliveries / (window.wallMicros / 1e6) / (config.rate * subscribers)) * 100,
      published,
      "deliveries checked": sse.received + ws.received,
    };
    return { sample, report };
  } finally {
    if (publishing) await target.stopPublishing(server).catch(() => 0);
    await server.stop();
  }
}

/** Every subscriber must have received every published message exactly once. */
function failOnLoss(
  target: FanoutTarget,
  report: PoolReport,
  published: number,
  subscribers: number,
  warnings: string[],
): void {
  const problems: string[] = [];
  for (const [name, part] of Object.entries(report.transports)) {
    const expected = published * part.subscribers;
    if (part.lost > 0) problems.push(`${name}: ${part.lost} of ${expected} deliveries lost`);
    if (part.duplicates > 0) problems.push(`${name}: ${part.duplicates} duplicates`);
    if (part.malformed > 0) problems.push(`${name}: ${part.malformed} messages without {"seq":…}`);
    if (part.received !== expected)
      problems.push(`${name}: ${part.received} deliveries, not ${expected}`);
    for (const error of part.errors) problems.push(`${name}: a subscriber failed: ${error}`);
  }
  const counted = report.transports.sse.subscribers + report.transports.ws.subscribers;
  if (counted !== subscribers) problems.push(`${counted} subscribers reported, not ${subscribers}`);
  if (published === 0) problems.push("nothing was published");
  if (problems.length === 0) return;
  const logged =
    warnings.length > 0 ? `\nthe server logged:\n${warnings.slice(0, 5).join("\n")}` : "";
  throw new Error(
    `${target.label}: ${published} messages published; ${problems.join("; ")}${logged}`,
  );
}

function progress(target: FanoutTarget, round: number, runs: number, sample: Sample): void {
  printRunProgress(target.label, round, runs, sample, [
    `p50 ${sample["p50 latency ms"]} ms`,
    `p99 ${sample["p99 latency ms"]} ms`,
  ]);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
