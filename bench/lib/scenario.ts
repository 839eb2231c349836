import type { ServerProcess } from "./servers.js";
import { alternate, medianSample, type Sample } from "./stats.js";

/** One server endpoint under test. */
export interface Target {
  label: string;
  server: ServerProcess;
  path: string;
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
  title: string;
  /** The metric shown for every run in the details table. */
  headline: string;
  metrics: Metric[];
  /** The baseline first, then what is compared with it. */
  results: TargetResult[];
  /** How to read the figures, printed under the tables (once for scenarios sharing them). */
  notes?: string[];
}

/** Measures every target `runs` times, alternating their order, and takes medians. */
export async function measureTargets(
  targets: Target[],
  runs: number,
  measure: (target: Target) => Promise<Sample>,
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
