/** What bench/hub-fanout.ts runs: parsed from its arguments. */
export interface HubFanoutConfig {
  /** SSE subscribers (multi-topic SSE on /rt) and WebSocket subscribers (sluice.v1 on /rt). */
  sse: number;
  ws: number;
  /** Messages published per second, one at a time. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Runs of each server, alternated; the report gives medians. */
  runs: number;
  /** sluice from dist/ (as users run the hub), or src/ through tsx (--src). */
  dist: boolean;
  /** Print the results as one JSON object instead of the markdown report. */
  json: boolean;
  quick: boolean;
  /** No argument but --allow-dirty: the run whose report is published. */
  full: boolean;
  allowDirty: boolean;
}

/**
 * 4 s of warm-up: the hub's first second, its publish path not yet compiled, leaves a backlog
 * that must be gone before the window opens (a window that catches up shows over 100 % of due).
 */
const DEFAULTS = { sse: 1000, ws: 1000, rate: 25, warmup: 4, duration: 6, runs: 3 };
const QUICK = { warmup: 1, duration: 3, runs: 1 };
/**
 * The hub's default publish rate limit is 100 messages/s per key (a burst of 200): above it,
 * its publishes would get 429s, which the benchmark counts as failures.
 */
const MAX_RATE = 100;

const USAGE = [
  "usage: npm run bench:hub -- [--quick] [--sse=N] [--ws=N] [--rate=N] [--warmup=S] [--duration=S]",
  "       [--runs=N] [--src] [--json] [--allow-dirty]",
].join("\n");

const NUMERIC = {
  sse: { min: 0, max: 10_000, integer: true },
  ws: { min: 0, max: 10_000, integer: true },
  rate: { min: 1, max: MAX_RATE, integer: true },
  warmup: { min: 0, max: 60, integer: false },
  duration: { min: 0.2, max: 120, integer: false },
  runs: { min: 1, max: 20, integer: true },
} as const;
type NumericName = keyof typeof NUMERIC;
const FLAGS = new Set(["--quick", "--src", "--json", "--allow-dirty"]);

export function parseHubFanoutConfig(args: string[]): HubFanoutConfig {
  const quick = args.includes("--quick");
  const values: Record<NumericName, number> = { ...DEFAULTS, ...(quick ? QUICK : {}) };
  for (const arg of args) {
    if (FLAGS.has(arg)) continue;
    const [, name, value] = /^--(\w+)=(.*)$/.exec(arg) ?? [];
    if (!name || !(name in NUMERIC)) throw new Error(`${USAGE}\nunknown argument ${arg}`);
    values[name as NumericName] = numberArgument(name as NumericName, value);
  }
  if (values.sse + values.ws === 0)
    throw new Error(`${USAGE}\n--sse and --ws are both 0: no subscriber`);
  return {
    sse: values.sse,
    ws: values.ws,
    rate: values.rate,
    warmupMs: values.warmup * 1000,
    durationMs: values.duration * 1000,
    runs: values.runs,
    dist: !args.includes("--src"),
    json: args.includes("--json"),
    quick,
    full: args.every((arg) => arg === "--allow-dirty"),
    allowDirty: args.includes("--allow-dirty"),
  };
}

function numberArgument(name: NumericName, text: string): number {
  const { min, max, integer } = NUMERIC[name];
  const value = Number(text);
  const fits = text !== "" && Number.isFinite(value) && value >= min && value <= max;
  if (!fits || (integer && !Number.isInteger(value))) {
    const kind = integer ? "a whole number" : "a number";
    const why = name === "rate" ? " (the hub's default publish rate limit is 100/s per key)" : "";
    throw new Error(
      `${USAGE}\n--${name}: must be ${kind} from ${min} to ${max}${why}, got "${text}"`,
    );
  }
  return value;
}
