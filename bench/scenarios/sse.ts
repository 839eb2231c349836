import type { BenchConfig } from "../config.js";
import {
  type DeliveryMetricNames,
  deliveryMetrics,
  deliverySample,
  measureTargets,
  type ScenarioResult,
  type Target,
} from "../lib/scenario.js";
import type { ServerProcess } from "../lib/servers.js";
import { runSseLoad } from "../lib/sse-load.js";

const EVENT: DeliveryMetricNames = {
  rate: "events/s delivered",
  cpu: "server CPU µs/event",
  writes: "server writes/event",
};

const NOTES = [
  "SSE: one producer per server process publishes the same events (`id:` and a small JSON",
  "`data:`) to every subscriber, raw sockets on the load generator; events/s counts what all",
  "clients received, CPU and write system calls (/proc/<pid>/io `syscw`) are per delivered",
  "event. At a fixed rate both servers keep up and CPU per event compares the fan-out's cost;",
  "as fast as delivered, the producer publishes one event per event-loop turn and waits while",
  "a client is behind (node:http: `write()` returned false; sluice: over 16 events queued).",
  "sluice writes a stream's batch from a setImmediate, which runs after the producer's next",
  "turn: there, two events share each write (writes/event 0.5). A run fails unless every",
  "client received every published event and the server let go of every client once they left.",
];

/**
 * SSE fan-out: `clients` subscribers, one producer, first at a fixed rate (CPU per event at
 * equal load), then as fast as the server delivers (events/s at saturation).
 */
export async function sseScenarios(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
): Promise<ScenarioResult[]> {
  const { clients, rate } = config.sse;
  const who = `${clients.toLocaleString("en-US")} clients`;
  return [
    await sseScenario(config, baseline, sluice, rate, `SSE, ${who}, ${rate} events/s published`),
    await sseScenario(config, baseline, sluice, 0, `SSE, ${who}, published as fast as delivered`),
  ];
}

async function sseScenario(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
  rate: number,
  title: string,
): Promise<ScenarioResult> {
  const { warmupMs, durationMs } = config.sse;
  console.error(`${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const targets: Target[] = [
    { label: "node:http", server: baseline, path: "/sse" },
    { label: "sluice", server: sluice, path: "/sse" },
  ];
  const results = await measureTargets(
    targets,
    config.runs,
    async ({ server, path }) => {
      const options = { port: server.port, pid: server.pid, path, ...config.sse, rate };
      const { deliveries, writeCalls, window } = await runSseLoad(options);
      return deliverySample(EVENT, deliveries, writeCalls, window);
    },
    (sample) =>
      `${Math.round(sample["events/s delivered"])} events/s, ${sample["server CPU µs/event"].toFixed(2)} µs CPU/event`,
  );
  const metrics = deliveryMetrics(EVENT);
  return { title, headline: EVENT.rate, metrics, results, notes: NOTES };
}
