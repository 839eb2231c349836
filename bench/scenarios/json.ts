import type { BenchConfig } from "../config.js";
import { runJsonLoad } from "../lib/json-load.js";
import { cpuShares, type Metric, measureTargets, type ScenarioResult } from "../lib/scenario.js";
import type { ServerProcess } from "../lib/servers.js";
import type { Sample } from "../lib/stats.js";

const METRICS: Metric[] = [
  { key: "req/s", better: "higher" },
  { key: "server CPU µs/req", better: "lower" },
];

/** (f): a small JSON object per GET, 64 keep-alive connections, one request in flight each. */
export async function jsonScenario(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
): Promise<ScenarioResult> {
  const { connections, warmupMs, durationMs } = config.json;
  const title = `(f) JSON GET, ${connections} keep-alive connections`;
  console.error(`${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const targets = [
    { label: "node:http", server: baseline, path: "/json" },
    { label: "sluice", server: sluice, path: "/json" },
  ];
  const results = await measureTargets(
    targets,
    config.runs,
    async ({ server, path }) => {
      const options = { port: server.port, pid: server.pid, path, ...config.json };
      return jsonSample(await runJsonLoad(options));
    },
    (sample) => `${Math.round(sample["req/s"])} req/s`,
  );
  return { title, headline: "req/s", metrics: METRICS, results };
}

function jsonSample({ responses, window }: Awaited<ReturnType<typeof runJsonLoad>>): Sample {
  return {
    "req/s": responses / (window.wallMicros / 1e6),
    "server CPU µs/req": window.serverCpuMicros / responses,
    ...cpuShares(window),
  };
}
