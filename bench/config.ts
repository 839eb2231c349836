export interface BenchConfig {
  quick: boolean;
  /** Start the servers with --cpu-prof (profiles land in bench/results/profiles). */
  profile: boolean;
  /** Load sluice from dist/ (`npm run bench` builds it first), as users run it; --src loads src/ through tsx. */
  dist: boolean;
  /** Run only these scenarios. */
  only: Set<ScenarioName>;
  runs: number;
  json: { connections: number; warmupMs: number; durationMs: number };
  ndjson: { rows: number; warmupRows: number };
  /** SSE fan-out: `rate` events/s, then as fast as delivered, to `clients` subscribers. */
  sse: { clients: number; rate: number; warmupMs: number; durationMs: number };
  /**
   * WebSocket: `echoClients` closed-loop echo clients; a broadcast to `broadcastClients`, at
   * `rate` messages/s, then as fast as delivered.
   */
  ws: {
    echoClients: number;
    broadcastClients: number;
    rate: number;
    warmupMs: number;
    durationMs: number;
  };
}

const SCENARIOS = ["json", "ndjson", "sse", "ws"] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const USAGE = "usage: tsx bench/run.ts [--quick] [--profile] [--src] [--only=json|ndjson|sse|ws]";
const FLAGS = new Set(["--quick", "--profile", "--src", "--dist"]);

export function parseConfig(args: string[]): BenchConfig {
  const quick = args.includes("--quick");
  const only = new Set<ScenarioName>();
  for (const arg of args) {
    const name = SCENARIOS.find((scenario) => arg === `--only=${scenario}`);
    if (name) only.add(name);
    else if (!FLAGS.has(arg)) throw new Error(`${USAGE}\nunknown argument ${arg}`);
  }
  if (only.size === 0) for (const name of SCENARIOS) only.add(name);
  return {
    quick,
    profile: args.includes("--profile"),
    dist: !args.includes("--src"),
    only,
    runs: 3,
    json: { connections: 64, warmupMs: quick ? 500 : 1000, durationMs: quick ? 2000 : 5000 },
    ndjson: { rows: 500_000, warmupRows: quick ? 50_000 : 200_000 },
    sse: { clients: 1000, rate: 50, warmupMs: quick ? 500 : 1000, durationMs: quick ? 1500 : 5000 },
    ws: {
      echoClients: 100,
      broadcastClients: 1000,
      rate: 50,
      warmupMs: quick ? 500 : 1000,
      durationMs: quick ? 1500 : 5000,
    },
  };
}
