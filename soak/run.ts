// `npm run soak`: the long soak with churn. Flags (or SOAK_* environment variables):
//   --clients 5000  --concurrency 1000  --duration 180 (s)  --hold-min 2000 --hold-max 50000 (ms)
//   --ramp 10 (s)  --warm-up 300  --seed 1
// Prints a markdown table and exits 1 unless everything came back to baseline.
import { parseArgs } from "node:util";
import { renderReport } from "./report.js";
import { DEFAULT_TOLERANCES, runSoak } from "./soak.js";

const FLAGS = {
  clients: { env: "SOAK_CLIENTS", default: 5000 },
  concurrency: { env: "SOAK_CONCURRENCY", default: 1000 },
  duration: { env: "SOAK_DURATION_S", default: 180 },
  "hold-min": { env: "SOAK_HOLD_MIN_MS", default: 2000 },
  "hold-max": { env: "SOAK_HOLD_MAX_MS", default: 50_000 },
  ramp: { env: "SOAK_RAMP_S", default: 10 },
  "warm-up": { env: "SOAK_WARM_UP", default: 300 },
  seed: { env: "SOAK_SEED", default: 1 },
} as const;
type Flag = keyof typeof FLAGS;

/** The duration is bounded: a soak that could run for ever is not one CI can afford. */
const MAX_DURATION_S = 1800;
/** Each held connection is one file descriptor on each side; the limit here is 20 000. */
const MAX_CONCURRENCY = 5000;

function readFlags(): Record<Flag, number> {
  const { values } = parseArgs({
    options: Object.fromEntries(
      Object.keys(FLAGS).map((name) => [name, { type: "string" as const }]),
    ),
  });
  const read = {} as Record<Flag, number>;
  for (const [name, spec] of Object.entries(FLAGS) as [Flag, (typeof FLAGS)[Flag]][]) {
    const text = (values[name] as string | undefined) ?? process.env[spec.env];
    const value = text === undefined ? spec.default : Number(text);
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`--${name} (or ${spec.env}) must be a number >= 0, got ${text}`);
    }
    read[name] = value;
  }
  if (read.duration > MAX_DURATION_S)
    throw new RangeError(`--duration is at most ${MAX_DURATION_S} s`);
  if (read.concurrency > MAX_CONCURRENCY) {
    throw new RangeError(`--concurrency is at most ${MAX_CONCURRENCY}`);
  }
  return read;
}

const USAGE =
  "usage: tsx soak/run.ts [--clients N] [--concurrency N] [--duration S] [--hold-min MS] [--hold-max MS] [--ramp S] [--warm-up N] [--seed N]";

async function main(): Promise<number> {
  let flags: Record<Flag, number>;
  try {
    flags = readFlags();
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  const report = await runSoak({
    clients: flags.clients,
    concurrency: flags.concurrency,
    durationMs: flags.duration * 1000,
    holdMs: { min: flags["hold-min"], max: flags["hold-max"] },
    rampMs: flags.ramp * 1000,
    firstMessageTimeoutMs: 15_000,
    seed: flags.seed,
    warmUpClients: flags["warm-up"],
    settleTimeoutMs: 30_000,
    tolerances: DEFAULT_TOLERANCES,
    log: (line) => console.error(`[soak] ${line}`),
  });
  console.log(renderReport(report));
  console.log(
    `\n(${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version})`,
  );
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error);
    process.exit(2);
  },
);
