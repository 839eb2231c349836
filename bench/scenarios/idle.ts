import type { BenchConfig } from "../config.js";
import { runIdleLoad } from "../lib/idle-load.js";
import { dialectOf, type Peer, type RunningPeer, serving, startPeer } from "../lib/peers.js";
import { count, type Metric, measureTargets, type ScenarioResult } from "../lib/scenario.js";

const KB_PER_CONNECTION = "RSS KB/connection";
const METRICS: Metric[] = [
  { key: KB_PER_CONNECTION, better: "lower" },
  { key: "RSS MB idle", better: "lower" },
  { key: "RSS MB with connections", better: "lower" },
];

const NOTES = [
  "Idle memory: each run starts a fresh server process (so memory freed by earlier scenarios",
  "does not absorb the connections) with --expose-gc, and reads its RSS (/proc/<pid>/status",
  "VmRSS) 1 s (quick: 0.5 s) after a full GC (asked for with SIGUSR2, the same for every",
  "server); then it opens the connections (SSE subscribers on /sse, WebSocket subscribers on",
  "/ws/broadcast; 10 000 each, 2 000 in a quick run), waits until the server counts them all,",
  "and reads RSS again the same way: (RSS with N − RSS with none) / N. KB = 1 000 bytes,",
  "MB = 10^6 bytes.",
];

/** (e) RSS per idle SSE and per idle WebSocket connection, each server in a fresh process. */
export async function idleScenarios(
  config: BenchConfig,
  peers: readonly Peer[],
  nodeArgs: string[],
  env: Record<string, string>,
): Promise<ScenarioResult[]> {
  const scenarios: ScenarioResult[] = [];
  for (const kind of ["sse", "ws"] as const) {
    const connections = config.idle.connections;
    const what = kind === "sse" ? "SSE" : "WebSocket";
    const title = `${count(connections)} idle ${what} connections`;
    console.error(`(e) ${title}: ${config.idle.runs} runs, a fresh server each`);
    const eligible = serving(peers, kind, `e-${kind}`);
    const targets = eligible.map((peer) => ({ label: peer.name, peer, path: "" }));
    const results = await measureTargets(
      targets,
      config.idle.runs,
      async ({ peer }) => {
        const running: RunningPeer = await startPeer(peer, [...nodeArgs, "--expose-gc"], env);
        try {
          const { server } = running;
          const route = kind === "sse" ? "/sse" : "/ws/broadcast";
          const result = await runIdleLoad({
            port: server.port,
            pid: server.pid,
            connections,
            kind,
            dialect: dialectOf(peer, route),
            settleMs: config.idle.settleMs,
          });
          return {
            [KB_PER_CONNECTION]: result.bytesPerConnection / 1000,
            "RSS MB idle": result.before / 1e6,
            "RSS MB with connections": result.after / 1e6,
          };
        } finally {
          await running.server.stop();
        }
      },
      (sample) => `${sample[KB_PER_CONNECTION].toFixed(2)} KB/connection`,
    );
    scenarios.push({
      id: `e-${kind}`,
      title,
      headline: KB_PER_CONNECTION,
      metrics: METRICS,
      main: METRICS[0],
      results,
      notes: NOTES,
    });
  }
  return scenarios;
}
