import { numericArgument } from "./numeric-argument.js";

/** What bench/scale-curve.ts runs: parsed from its arguments. */
export interface ScaleConfig {
  /** Subscriber counts of the curve, ascending: each is reached by adding to the one before. */
  counts: number[];
  /** Events published per second, one at a time, at every count. */
  rate: number;
  /** Connections opened per second, over all subscriber processes. */
  connectRate: number;
  warmupMs: number;
  durationMs: number;
  runs: number;
  dist: boolean;
  json: boolean;
  allowDirty: boolean;
}

/**
 * The rate: 2 events/s. A delivery costs the server 10 to 20 µs of CPU at these rates
 * (BENCHMARKS.md has ~10 µs for (a) and (b) at 100 events/s), so 10 000 subscribers at
 * 2 events/s are 20 000 deliveries/s, a quarter to a third of the server's core: far from
 * saturation at every count, for both servers, with room for the other load of a shared
 * machine. 10 events/s would be 100 000 deliveries/s at 10 000 subscribers, the whole core:
 * the curve's last point would measure a queue, not a cost. The subscribers' core reads as
 * many deliveries and needs the same headroom: at 4 events/s, with another benchmark running
 * on the machine, the subscribers of the WebSocket curve fell behind at 10 000.
 */
export const SCALE_DEFAULTS = {
  counts: [1000, 5000, 10_000],
  rate: 2,
  "connect-rate": 1000,
  warmup: 1,
  duration: 4,
  runs: 2,
};

const USAGE = [
  "usage: npm run bench:scale -- [--counts=1000,5000,10000] [--rate=N] [--connect-rate=N]",
  "       [--warmup=S] [--duration=S] [--runs=N] [--src] [--json] [--allow-dirty]",
].join("\n");

/** The hard limit on open files here is 20 000: a server holding more is refused anyway. */
const MAX_SUBSCRIBERS = 15_000;

const NUMERIC = {
  rate: { min: 1, max: 100, integer: true },
  "connect-rate": { min: 10, max: 5000, integer: true },
  warmup: { min: 0, max: 60, integer: false },
  duration: { min: 0.2, max: 120, integer: false },
  runs: { min: 1, max: 20, integer: true },
} as const;
type NumericName = keyof typeof NUMERIC;
const FLAGS = new Set(["--src", "--json", "--allow-dirty"]);

export function parseScaleConfig(args: string[]): ScaleConfig {
  const values: Record<NumericName, number> = { ...SCALE_DEFAULTS };
  let counts = SCALE_DEFAULTS.counts;
  for (const arg of args) {
    if (FLAGS.has(arg)) continue;
    const [, name, value] = /^--([\w-]+)=(.*)$/.exec(arg) ?? [];
    if (name === "counts") counts = countsArgument(value);
    else if (name && name in NUMERIC)
      values[name as NumericName] = numericArgument(
        USAGE,
        name,
        value,
        NUMERIC[name as NumericName],
      );
    else throw new Error(`${USAGE}\nunknown argument ${arg}`);
  }
  return {
    counts,
    rate: values.rate,
    connectRate: values["connect-rate"],
    warmupMs: values.warmup * 1000,
    durationMs: values.duration * 1000,
    runs: values.runs,
    dist: !args.includes("--src"),
    json: args.includes("--json"),
    allowDirty: args.includes("--allow-dirty"),
  };
}

/** Whether `config` is the published curve: the default counts and runs, from dist/. */
export function isFullCurve(config: ScaleConfig): boolean {
  return (
    config.dist &&
    config.runs === SCALE_DEFAULTS.runs &&
    config.rate === SCALE_DEFAULTS.rate &&
    config.counts.join() === SCALE_DEFAULTS.counts.join()
  );
}

function countsArgument(text: string): number[] {
  const counts = text.split(",").map(Number);
  const fits = counts.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_SUBSCRIBERS);
  const ascending = counts.every((n, i) => i === 0 || n > counts[i - 1]);
  if (text === "" || !fits || !ascending) {
    throw new Error(
      `${USAGE}\n--counts: ascending whole numbers from 1 to ${MAX_SUBSCRIBERS}, comma-separated, got "${text}"`,
    );
  }
  return counts;
}
