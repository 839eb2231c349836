import type { BenchConfig } from "../config.js";
import { type RunningPeer, serving } from "../lib/peers.js";
import {
  cpuShares,
  type Metric,
  measureTargets,
  type ScenarioResult,
  targetsOn,
} from "../lib/scenario.js";
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
  peers: readonly RunningPeer[],
): Promise<ScenarioResult> {
  const { rows, warmupRows } = config.ndjson;
  const title = `NDJSON, ${rows.toLocaleString("en-US")} rows, one client`;
  console.error(`(d) ${title}: ${config.runs} runs after a ${warmupRows}-row warm-up each`);
  const targets = targetsOn(serving(peers, "ndjson", "d"), (peer) => peer.ndjsonPath ?? "/ndjson");
  for (const { peer, path } of targets) {
    await fetchStream(peer.server.port, peer.server.pid, `${path}?rows=${warmupRows}`);
  }
  const payload = payloadBytes(rows);
  const results = await measureTargets(
    targets,
    config.runs,
    async ({ peer: { server }, path }) => {
      const result = await fetchStream(server.port, server.pid, `${path}?rows=${rows}`);
      return streamSample(rows, payload, result);
    },
    (sample) => `${Math.round(sample["rows/s"])} rows/s, ${sample["payload MB/s"].toFixed(1)} MB/s`,
  );
  return { id: "d", title, headline: "rows/s", metrics: METRICS, main: METRICS[1], results };
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
