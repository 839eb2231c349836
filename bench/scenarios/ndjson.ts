import type { BenchConfig } from "../config.js";
import {
  cpuShares,
  type Metric,
  measureTargets,
  type ScenarioResult,
  type Target,
} from "../lib/scenario.js";
import type { ServerProcess } from "../lib/servers.js";
import type { Sample } from "../lib/stats.js";
import { fetchStream } from "../lib/stream-load.js";
import { makeRow } from "../servers/rows.js";

const METRICS: Metric[] = [
  { key: "rows/s", better: "higher" },
  { key: "payload MB/s", better: "higher" },
  { key: "server CPU µs/row", better: "lower" },
];

/** (d): one client reads an NDJSON stream of `rows` small objects as fast as it can. */
export async function ndjsonScenario(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
): Promise<ScenarioResult> {
  const { rows, warmupRows } = config.ndjson;
  const title = `(d) NDJSON, ${rows.toLocaleString("en-US")} rows, one client`;
  console.error(`${title}: ${config.runs} runs after a ${warmupRows}-row warm-up each`);
  const targets: Target[] = [
    { label: "node:http", server: baseline, path: "/ndjson" },
    { label: "sluice, sync generator", server: sluice, path: "/ndjson/sync" },
    { label: "sluice, async generator", server: sluice, path: "/ndjson/async" },
  ];
  for (const { server, path } of targets) {
    await fetchStream(server.port, server.pid, `${path}?rows=${warmupRows}`);
  }
  const payload = payloadBytes(rows);
  const results = await measureTargets(
    targets,
    config.runs,
    async ({ server, path }) => {
      const result = await fetchStream(server.port, server.pid, `${path}?rows=${rows}`);
      return streamSample(rows, payload, result);
    },
    (sample) => `${Math.round(sample["rows/s"])} rows/s, ${sample["payload MB/s"].toFixed(1)} MB/s`,
  );
  return { title, headline: "rows/s", metrics: METRICS, results };
}

/** Bytes of NDJSON the rows make, without HTTP framing: the same for every server. */
function payloadBytes(rows: number): number {
  let bytes = 0;
  for (let i = 0; i < rows; i++) bytes += Buffer.byteLength(JSON.stringify(makeRow(i))) + 1;
  return bytes;
}

function streamSample(
  rows: number,
  payload: number,
  { window }: Awaited<ReturnType<typeof fetchStream>>,
): Sample {
  const seconds = window.wallMicros / 1e6;
  return {
    "rows/s": rows / seconds,
    "payload MB/s": payload / seconds / 1e6,
    "server CPU µs/row": window.serverCpuMicros / rows,
    ...cpuShares(window),
  };
}
