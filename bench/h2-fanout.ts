import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { testCertificate } from "../test/support/test-certificate.js";
import { openWindow } from "./lib/cpu.js";
import { type H2Case, h2Cases } from "./lib/h2-fanout-cases.js";
import { type H2FanoutConfig, parseH2FanoutConfig } from "./lib/h2-fanout-config.js";
import { renderH2Fanout } from "./lib/h2-fanout-report.js";
import { H2Server } from "./lib/h2-server.js";
import { H2SubscriberPool } from "./lib/h2-subscriber-pool.js";
import { pinSelf } from "./lib/pinning.js";
import { benchRevision } from "./lib/revision.js";
import { printRunProgress } from "./lib/run-progress.js";
import { ROOT } from "./lib/servers.js";
import { alternate, type Sample } from "./lib/stats.js";

/*
 * HTTP/2 against HTTP/1.1 (issue 24): the same fan-out of one event stream to 1 000 streams,
 * carried by HTTP/1.1 (1 000 connections), by h2 multiplexed (10 connections of 100 streams,
 * the server's concurrent-stream limit) and by h2 with one stream per connection (the
 * protocol's cost without multiplexing); as SSE (`app.sse` + `app.subscribe()`) and as NDJSON
 * (`ndjson()`), over TLS (HTTPS/1.1 vs h2, what browsers use) and in cleartext (HTTP/1.1 vs
 * h2c, TLS's share out). Each case runs in a fresh server process pinned to core 0
 * (bench/servers/h2-fanout.ts); the subscribers run in processes of their own on core 1
 * (bench/h2-fanout-subscribers.ts), and each stream must receive every event exactly once.
 *
 *   npm run bench:h2                  full: 3 alternated runs of every case, medians (~3 min)
 *   npm run bench:h2 -- --quick       1 shorter run of every case
 *   npm run bench:h2 -- --profile --shapes=sse --transports=tls --runs=1   profiles of the servers
 *   npm run bench:h2 -- --streams=20 --per-connection=10 --duration=1 --runs=1 --src --json   (the smoke test)
 *
 * Every run writes bench/results/h2-fanout.md; BENCHMARKS.md's "HTTP/2 vs HTTP/1.1" section is
 * written from it by hand, with the profile's explanation.
 */

const RESULTS = join(ROOT, "bench", "results", "h2-fanout.md");
const PROFILES = join(ROOT, "bench", "results", "profiles");
/** How long the last events may take to reach every stream once publishing stopped. */
const DELIVERY_TIMEOUT_MS = 30_000;
/** How long the server may take to count every stream as subscribed. */
const SUBSCRIBED_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  const config = parseH2FanoutConfig(process.argv.slice(2));
  const revision = benchRevision(ROOT, ["node_modules"]);
  const pinned = pinSelf();
  const loadAtStart = loadavg();
  const certificate = await testCertificate();
  const tls = { key: certificate.key.toString(), cert: certificate.cert.toString() };
  if (config.profile) mkdirSync(PROFILES, { recursive: true });
  const cases = h2Cases(config);
  const pool = await H2SubscriberPool.start(config.streams);
  try {
    const results = await alternate(cases, config.runs, async (measured, round) => {
      const sample = await measure(measured, config, pool, tls);
      progress(measured, round, config.runs, sample);
      return sample;
    });
    const rows = cases.map((measured) => ({
      case: measured,
      samples: results.get(measured) ?? [],
    }));
    if (config.json) {
      const json = rows.map((row) => ({
        scenario: row.case.scenario,
        label: row.case.label,
        samples: row.samples,
      }));
      console.log(JSON.stringify({ config, rows: json }));
      return;
    }
    const report = renderH2Fanout(rows, config, revision, pinned, loadAtStart);
    console.log(report);
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(RESULTS, report);
    console.error(`written to ${RESULTS}`);
  } finally {
    pool.stop();
  }
}

/** One run of one case: a fresh server, its streams, warm-up, the measured window, the checks. */
async function measure(
  measured: H2Case,
  config: H2FanoutConfig,
  pool: H2SubscriberPool,
  tls: { key: string; cert: string },
): Promise<Sample> {
  const server = await H2Server.start({
    protocol: measured.protocol,
    tls: measured.tls ? tls : undefined,
    connections: measured.connections,
    dist: config.dist,
    profileDir: config.profile ? PROFILES : undefined,
  });
  try {
    const rssBefore = server.rss();
    const target = { port: server.port, tls: measured.tls, path: `/${measured.shape}` };
    const streams = await pool.connect(target, measured.carrier, measured.connections);
    await subscribed(server, measured.shape, streams);
    await server.ask({ cmd: "start", shape: measured.shape, rate: config.rate });
    await sleep(config.warmupMs);
    const closeWindow = openWindow(server.pid);
    const subscribersCpuBefore = pool.cpuMicros();
    const receivedBefore = await pool.windowStart();
    await sleep(config.durationMs);
    const receivedAfter = await pool.windowEnd();
    const window = closeWindow();
    const subscribersCpu = pool.cpuMicros() - subscribersCpuBefore;
    const rssOpen = server.rss();
    const { published } = await server.ask<{ published: number }>({ cmd: "stop" });
    const report = await pool.finish(published, DELIVERY_TIMEOUT_MS);
    const problems = lossProblems(report, published, config.streams);
    if (problems.length > 0)
      throw new Error(
        `${measured.scenario}, ${measured.label}: ${published} events published; ${problems.join("; ")}`,
      );
    const deliveries = receivedAfter - receivedBefore;
    const seconds = window.wallMicros / 1e6;
    return {
      "deliveries/s": deliveries / seconds,
      "server CPU µs/delivery": window.serverCpuMicros / deliveries,
      "server CPU %": (window.serverCpuMicros / window.wallMicros) * 100,
      "server RSS KB/stream": (rssOpen - rssBefore) / streams / 1024,
      "p50 latency ms": report.histogram.percentile(0.5),
      "p99 latency ms": report.histogram.percentile(0.99),
      "delivered % of due": (deliveries / seconds / (config.rate * streams)) * 100,
      "subscribers CPU %": (subscribersCpu / window.wallMicros) * 100,
      "server RSS MB before streams": rssBefore / 2 ** 20,
      published,
      "deliveries checked": report.received,
    };
  } finally {
    await server.stop();
  }
}

/** Waits until the server counts `streams` live subscriptions of `shape`, so none misses event 0. */
async function subscribed(
  server: H2Server,
  shape: "sse" | "ndjson",
  streams: number,
): Promise<void> {
  const deadline = performance.now() + SUBSCRIBED_TIMEOUT_MS;
  for (;;) {
    const counts = await server.ask<Record<"sse" | "ndjson", number>>({ cmd: "streams" });
    if (counts[shape] === streams) return;
    if (performance.now() > deadline)
      throw new Error(`the server counts ${counts[shape]} ${shape} streams, not ${streams}`);
    await sleep(20);
  }
}

/** Every stream must have received every published event exactly once. */
function lossProblems(
  report: Awaited<ReturnType<H2SubscriberPool["finish"]>>,
  published: number,
  streams: number,
): string[] {
  const problems: string[] = [];
  const expected = published * streams;
  if (published === 0) problems.push("nothing was published");
  if (report.streams !== streams)
    problems.push(`${report.streams} streams reported, not ${streams}`);
  if (report.lost > 0) problems.push(`${report.lost} of ${expected} deliveries lost`);
  if (report.duplicates > 0) problems.push(`${report.duplicates} duplicates`);
  if (report.malformed > 0) problems.push(`${report.malformed} events without {"seq":…}`);
  if (report.received !== expected) problems.push(`${report.received} deliveries, not ${expected}`);
  for (const error of report.errors) problems.push(`a stream failed: ${error}`);
  return problems;
}

function progress(measured: H2Case, round: number, runs: number, sample: Sample): void {
  printRunProgress(`${measured.scenario}, ${measured.label}`, round, runs, sample, [
    `${sample["server RSS KB/stream"].toFixed(1)} KB/stream`,
    `p50 ${sample["p50 latency ms"].toFixed(2)} ms`,
    `p99 ${sample["p99 latency ms"].toFixed(2)} ms`,
  ]);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
