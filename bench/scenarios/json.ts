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
import { runWrkLoad } from "../lib/wrk-load.js";

const METRICS: Metric[] = [
  { key: "req/s", better: "higher" },
  { key: "server CPU µs/req", better: "lower" },
];

/**
 * (f): a small JSON object per GET, 64 keep-alive connections, one request in flight each,
 * loaded by wrk (an outside loader, installed by the bench when missing: see wrk-load.ts).
 */
export async function jsonScenario(
  config: BenchConfig,
  peers: readonly RunningPeer[],
): Promise<ScenarioResult> {
  const { connections, warmupMs, durationMs } = config.json;
  const title = `JSON GET, ${connections} keep-alive connections`;
  console.error(`(f) ${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const results = await measureTargets(
    targetsOn(serving(peers, "json", "f"), () => "/json"),
    config.runs,
    async ({ peer, path }) => {
      const { server } = peer;
      const options = { port: server.port, pid: server.pid, path, ...config.json };
      return jsonSample(await runWrkLoad(options));
    },
    (sample) => `${Math.round(sample["req/s"])} req/s`,
  );
  return { id: "f", title, headline: "req/s", metrics: METRICS, main: METRICS[0], results };
}

function jsonSample({ responses, window }: Awaited<ReturnType<typeof runWrkLoad>>): Sample {
  return {
    "req/s": responses / (window.wallMicros / 1e6),
    "server CPU µs/req": window.serverCpuMicros / responses,
    ...cpuShares(window),
  };
}
