import type { BenchConfig } from "../config.js";
import type { FreshPeers } from "../lib/fresh-peers.js";
import { type RunningPeer, serving } from "../lib/peers.js";
import {
  count,
  type DeliveryMetricNames,
  deliveryMetrics,
  deliverySample,
  measureTargets,
  type ScenarioResult,
  targetsOn,
} from "../lib/scenario.js";
import { runSseLoad } from "../lib/sse-load.js";

const EVENT: DeliveryMetricNames = {
  rate: "events/s delivered",
  cpu: "server CPU µs/event",
  writes: "server writes/event",
};

const NOTES = [
  "SSE: one producer per server process publishes the same events (`id:` and a ~100-byte JSON",
  "`data:` carrying `seq` and the publish time) to every subscriber; each server fans out the",
  "way its docs show (node:http: a Set of responses, one `res.write(frame)` each; sluice: one",
  "`SseEvent` per event handed to every client's async generator; better-sse: a channel",
  "broadcast; Fastify and Hono: per-client streams fed from a queue). The load generator reads",
  "raw sockets and only counts blank lines and reads `t` (latency = receipt − publish time, one",
  "clock). events/s counts what all clients received; CPU and write system calls",
  "(/proc/<pid>/io `syscw`) are per delivered event. As fast as delivered (full runs only), the",
  "producer publishes one event per event-loop turn and waits while a client is behind. A run",
  "fails unless every client received every published event and the server let go of every",
  "client once they left.",
];

/** (a) SSE fan-out at a fixed rate; in a full run also as fast as delivered. */
export async function sseScenarios(
  config: BenchConfig,
  fresh: FreshPeers,
): Promise<ScenarioResult[]> {
  const { clients, rate } = config.sse;
  const who = `${count(clients)} clients`;
  const scenarios = [
    await fresh("sse", (peers) =>
      sseScenario(config, peers, "a", rate, `SSE fan-out, ${who}, ${rate} events/s`),
    ),
  ];
  if (!config.quick) {
    const title = `SSE fan-out, ${who}, as fast as delivered`;
    scenarios.push(await fresh("sse", (peers) => sseScenario(config, peers, "a+", 0, title)));
  }
  return scenarios;
}

async function sseScenario(
  config: BenchConfig,
  peers: readonly RunningPeer[],
  id: string,
  rate: number,
  title: string,
): Promise<ScenarioResult> {
  const { warmupMs, durationMs } = config.sse;
  console.error(`(${id}) ${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const results = await measureTargets(
    targetsOn(serving(peers, "sse", id), () => "/sse"),
    config.runs,
    async ({ peer, path }) => {
      const { server } = peer;
      const options = { port: server.port, pid: server.pid, path, ...config.sse, rate, burst: 1 };
      const { deliveries, writeCalls, window, latency } = await runSseLoad(options);
      return deliverySample(EVENT, deliveries, writeCalls, window, latency);
    },
    (sample) =>
      `${Math.round(sample[EVENT.rate])} events/s, ${sample[EVENT.cpu].toFixed(2)} µs CPU/event`,
  );
  const metrics = deliveryMetrics(EVENT);
  const main = metrics[rate > 0 ? 1 : 0];
  return { id, title, headline: EVENT.rate, metrics, main, results, notes: NOTES };
}
