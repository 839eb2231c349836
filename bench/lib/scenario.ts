import type { LatencyRecorder } from "./latency.js";
import type { RunningPeer } from "./peers.js";
import { alternate, medianSample, type Sample } from "./stats.js";

/** One server endpoint under test. */
export interface Target {
  label: string;
  peer: RunningPeer;
  path: string;
}

/** The same route on each peer, labelled with the peer's name. */
export function targetsOn(peers: readonly RunningPeer[], path: (peer: RunningPeer) => string) {
  return peers.map((peer): Target => ({ label: peer.name, peer, path: path(peer) }));
}

export interface Metric {
  key: string;
  better: "higher" | "lower";
}

export interface TargetResult {
  label: string;
  samples: Sample[];
  median: Sample;
}

export interface ScenarioResult {
  /** The letter for it, e.g. "a"; extra scenarios take the letter and a "+". */
  id: string;
  title: string;
  /** The metric shown for every run in the details table. */
  headline: string;
  metrics: Metric[];
  /** The metric compared across servers in the summary and the chart. */
  main: Metric;
  /** The baseline first, then what is compared with it. */
  results: TargetResult[];
  /** How to read the figures, printed under the tables (once for scenarios sharing them). */
  notes?: string[];
}

/** Measures every target `runs` times, alternating their order, and takes medians. */
export async function measureTargets<T extends { label: string }>(
  targets: T[],
  runs: number,
  measure: (target: T) => Promise<Sample>,
  describe: (sample: Sample) => string,
): Promise<TargetResult[]> {
  const samples = await alternate(targets, runs, async (target, round) => {
    const sample = await measure(target);
    console.error(`  ${target.label}, run ${round + 1}/${runs}: ${describe(sample)}`);
    return sample;
  });
  return targets.map((target) => {
    const list = samples.get(target) ?? [];
    return { label: target.label, samples: list, median: medianSample(list) };
  });
}

/** CPU shares of the window, in % of one core. */
export function cpuShares(window: {
  wallMicros: number;
  serverCpuMicros: number;
  clientCpuMicros: number;
}): Sample {
  return {
    "server CPU %": (window.serverCpuMicros / window.wallMicros) * 100,
    "load generator CPU %": (window.clientCpuMicros / window.wallMicros) * 100,
  };
}

/** What one delivered item is called in a delivery scenario's three metrics. */
export interface DeliveryMetricNames {
  /** Items per second, e.g. "deliveries/s". */
  rate: string;
  /** Server CPU per item, e.g. "server CPU µs/delivery". */
  cpu: string;
  /** Server write system calls per item. */
  writes: string;
}

export const P50 = "p50 latency ms";
export const P99 = "p99 latency ms";

export function deliveryMetrics(names: DeliveryMetricNames): Metric[] {
  return [
    { key: names.rate, better: "higher" },
    { key: names.cpu, better: "lower" },
    { key: P50, better: "lower" },
    { key: P99, better: "lower" },
    { key: names.writes, better: "lower" },
  ];
}

/** Items/s, server CPU µs and writes per item over the window, latencies, CPU shares. */
export function deliverySample(
  names: DeliveryMetricNames,
  items: number,
  writeCalls: number,
  window: { wallMicros: number; serverCpuMicros: number; clientCpuMicros: number },
  latency: LatencyRecorder,
): Sample {
  return {
    [names.rate]: items / (window.wallMicros / 1e6),
    [names.cpu]: window.serverCpuMicros / items,
    [P50]: latency.percentile(0.5),
    [P99]: latency.percentile(0.99),
    [names.writes]: writeCalls / items,
    ...cpuShares(window),
  };
}

/** "1,000" */
export function count(value: number): string {
  return value.toLocaleString("en-US");
}
