import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { RedisServer } from "../test/support/redis-server.js";
import { processCpuMicros } from "./lib/cpu.js";
import { peerNamed, type RunningPeer, startPeer } from "./lib/peers.js";
import { pinSelf } from "./lib/pinning.js";
import {
  type BenchRevision,
  benchRevision,
  describeRevision,
  sameRevision,
  unpublishableBecause,
} from "./lib/revision.js";
import { ROOT } from "./lib/servers.js";
import { runSseLoad } from "./lib/sse-load.js";
import { alternate, median, type Sample } from "./lib/stats.js";

/*
 * Topics fan-out on one instance with the memory broker, and across two instances sharing a
 * Redis broker (issue 6's figures): 1 000 SSE subscribers of one topic, 100 events/s published
 * through `app.publish()` on the first instance (bench/servers/sluice-topics.ts). On Redis the
 * subscribers are spread 500 + 500 over the two instances; each event goes to Redis (XADD and
 * PUBLISH in one script) and comes back to both instances over their subscriber connections.
 * The instances share the server core (their CPU is summed); redis-server runs unpinned and
 * its CPU is given per published event. Every client must receive every event, in order.
 *
 *   npm run bench:redis [-- --quick]     (needs redis-server on the PATH)
 *
 * A full run writes BENCHMARKS-REDIS.md, only from a clean commit (figures anyone can
 * reproduce): with uncommitted changes it is refused, unless --allow-dirty is given, and then
 * it prints its report without writing the file. A --quick run only prints.
 */

const quick = process.argv.includes("--quick");
const allowDirty = process.argv.includes("--allow-dirty");
const PUBLISHED = "BENCHMARKS-REDIS.md";
const CLIENTS = 1000;
const RATE = 100;
const RUNS = quick ? 1 : 3;
const WARMUP_MS = quick ? 500 : 1000;
const DURATION_MS = quick ? 2000 : 5000;
const DIST = { BENCH_SLUICE_DIST: "1" };

interface Setup {
  label: string;
  instances: RunningPeer[];
  redis?: RedisServer;
}

async function main(): Promise<void> {
  const revision = benchRevision(ROOT, [PUBLISHED]);
  const dirty = unpublishableBecause(revision);
  if (dirty && !quick && !allowDirty) {
    console.error(
      `A full run publishes ${PUBLISHED}, and only from a clean commit: ${dirty}.\n` +
        "Commit (or set aside) the changes, or pass --allow-dirty to run and print without publishing.",
    );
    process.exitCode = 1;
    return;
  }
  pinSelf();
  const peer = peerNamed("sluice topics");
  if (!peer) throw new Error("no 'sluice topics' peer in bench/lib/peers.ts");
  const redis = await RedisServer.start();
  const setups: Setup[] = [];
  try {
    setups.push({
      label: "memory broker, 1 instance",
      instances: [await startPeer(peer, [], DIST)],
    });
    const onRedis = { ...DIST, BENCH_REDIS_URL: redis.url };
    const instances = [await startPeer(peer, [], onRedis), await startPeer(peer, [], onRedis)];
    setups.push({ label: "Redis broker, 2 instances (500 + 500)", instances, redis });
    const samples = await alternate(setups, RUNS, async (setup, round) => {
      const sample = await measure(setup);
      const summary = `${Math.round(sample["deliveries/s"])} deliveries/s, ${sample["server CPU µs/delivery"].toFixed(2)} µs CPU/delivery, p99 ${sample["p99 latency ms"]} ms`;
      console.error(`  ${setup.label}, run ${round + 1}/${RUNS}: ${summary}`);
      return sample;
    });
    const rows = setups.map((setup) => ({ setup, samples: samples.get(setup) ?? [] }));
    const report = render(rows, revision);
    console.log(report);
    writeIfPublishable(report, revision);
  } finally {
    for (const setup of setups)
      for (const instance of setup.instances) await instance.server.stop();
    await redis.stop();
  }
}

/** Writes the report unless the run was quick or the tree was (or became) unclean. */
function writeIfPublishable(report: string, revision: BenchRevision): void {
  if (quick) return;
  const reason =
    unpublishableBecause(revision) ??
    (sameRevision(revision, benchRevision(ROOT, [PUBLISHED]))
      ? undefined
      : "the tree changed during the run");
  if (reason) console.error(`${PUBLISHED} not written: ${reason}`);
  else writeFileSync(join(ROOT, PUBLISHED), report);
}

async function measure(setup: Setup): Promise<Sample> {
  const [first, ...others] = setup.instances;
  const redisPid = setup.redis?.pid;
  const redisBefore = redisPid ? processCpuMicros(redisPid) : 0;
  const result = await runSseLoad({
    port: first.server.port,
    pid: first.server.pid,
    others: others.map(({ server }) => ({ port: server.port, pid: server.pid })),
    path: "/sse",
    clients: CLIENTS,
    rate: RATE,
    burst: 1,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
  });
  const redisCpu = redisPid ? processCpuMicros(redisPid) - redisBefore : Number.NaN;
  const { window, deliveries, latency, published } = result;
  return {
    "deliveries/s": deliveries / (window.wallMicros / 1e6),
    "server CPU µs/delivery": window.serverCpuMicros / deliveries,
    "p50 latency ms": latency.percentile(0.5),
    "p99 latency ms": latency.percentile(0.99),
    "server CPU %": (window.serverCpuMicros / window.wallMicros) * 100,
    "redis-server CPU µs/event": redisCpu / published,
  };
}

const COLUMNS = [
  "deliveries/s",
  "server CPU µs/delivery",
  "p50 latency ms",
  "p99 latency ms",
  "server CPU %",
  "redis-server CPU µs/event",
] as const;

function render(rows: { setup: Setup; samples: Sample[] }[], revision: BenchRevision): string {
  const format = (value: number) =>
    Number.isNaN(value)
      ? "—"
      : value >= 100
        ? Math.round(value).toLocaleString("en-US")
        : value.toFixed(2);
  const table = [
    `| topics fan-out | ${COLUMNS.join(" | ")} |`,
    `|---|${COLUMNS.map(() => "--:").join("|")}|`,
    ...rows.map(({ setup, samples }) => {
      const cells = COLUMNS.map((column) => format(median(samples.map((s) => s[column]))));
      return `| ${setup.label} | ${cells.join(" | ")} |`;
    }),
  ];
  return [
    "# Topics fan-out: memory broker and Redis",
    "",
    `Command: \`npm run bench:redis${quick ? " -- --quick" : ""}\` (median of ${RUNS} run${RUNS > 1 ? "s" : ""} of ${DURATION_MS / 1000} s after ${WARMUP_MS / 1000} s of warm-up).`,
    `sluice ${describeRevision(revision)} from dist/, ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}; sluice instances pinned to core 0, the load generator to core 1, redis-server unpinned.`,
    "",
    `${CLIENTS.toLocaleString("en-US")} SSE subscribers of one topic, ${RATE} events/s (~100-byte JSON) published with \`app.publish()\` on the first instance. On Redis the subscribers are split 500 + 500 over two instances sharing one redis-server (\`redisBroker({ history: 1000 })\`); server CPU is the two instances' sum; redis-server's CPU is over the whole run (connections and its idle housekeeping included) per published event. Latency is from the event's creation, just before \`app.publish()\`, to its receipt. Every client received every event, in order.`,
    "",
    ...table,
    "",
  ].join("\n");
}

await main();
