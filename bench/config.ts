export interface BenchConfig {
  quick: boolean;
  /** Start the servers with --cpu-prof (profiles land in bench/results/profiles). */
  profile: boolean;
  /** Load sluice from dist/ (`npm run bench` builds it first), as users run it; --src loads src/ through tsx. */
  dist: boolean;
  /** Run only these scenarios. */
  only: Set<"json" | "ndjson">;
  runs: number;
  json: { connections: number; warmupMs: number; durationMs: number };
  ndjson: { rows: number; warmupRows: number };
}

const USAGE = "usage: tsx bench/run.ts [--quick] [--profile] [--src] [--only=json|ndjson]";
const FLAGS = new Set(["--quick", "--profile", "--src", "--dist"]);

export function parseConfig(args: string[]): BenchConfig {
  const quick = args.includes("--quick");
  const only = new Set<"json" | "ndjson">();
  for (const arg of args) {
    if (arg === "--only=json" || arg === "--only=ndjson")
      only.add(arg === "--only=json" ? "json" : "ndjson");
    else if (!FLAGS.has(arg)) throw new Error(`${USAGE}\nunknown argument ${arg}`);
  }
  if (only.size === 0) {
    only.add("json");
    only.add("ndjson");
  }
  return {
    quick,
    profile: args.includes("--profile"),
    dist: !args.includes("--src"),
    only,
    runs: 3,
    json: { connections: 64, warmupMs: quick ? 500 : 1000, durationMs: quick ? 2000 : 5000 },
    ndjson: { rows: 500_000, warmupRows: quick ? 50_000 : 200_000 },
  };
}
