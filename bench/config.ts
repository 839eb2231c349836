import { PEERS } from "./lib/peers.js";

export interface BenchConfig {
  quick: boolean;
  /** Start the servers with --cpu-prof (profiles land in bench/results/profiles). */
  profile: boolean;
  /** Load sluice from dist/ (`npm run bench` builds it first), as users run it; --src loads src/ through tsx. */
  dist: boolean;
  /** Run only these scenarios. */
  only: Set<ScenarioName>;
  /** The servers measured (--servers="sluice,sluice topics"); the baseline always is. */
  servers: Set<string>;
  runs: number;
  /** (f) */
  json: { connections: number; warmupMs: number; durationMs: number };
  /** (d) */
  ndjson: { rows: number; warmupRows: number };
  /** (a) SSE fan-out: `rate` events/s to `clients` subscribers (full runs: then as fast as delivered). */
  sse: { clients: number; rate: number; warmupMs: number; durationMs: number };
  /**
   * (c) `echoClients` closed-loop echo clients; (b) a fan-out to `broadcastClients` at `rate`
   * messages/s in bursts of `burst` (full runs: then as fast as delivered).
   */
  ws: {
    echoClients: number;
    broadcastClients: number;
    rate: number;
    burst: number;
    warmupMs: number;
    durationMs: number;
  };
  /** (e) idle connections per server, each run in a fresh server process; pause before reading RSS. */
  idle: { connections: number; runs: number; settleMs: number };
}

const SCENARIOS = ["json", "ndjson", "sse", "ws", "idle"] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const USAGE = [
  "usage: npm run bench -- [--quick] [--profile] [--src]",
  `  [--only=${SCENARIOS.join("|")}]...  ["--servers=${PEERS.map((peer) => peer.name).join(",")}"]`,
].join("\n");
const FLAGS = new Set(["--quick", "--profile", "--src", "--dist"]);

export function parseConfig(args: string[]): BenchConfig {
  const quick = args.includes("--quick");
  const only = new Set<ScenarioName>();
  let servers = new Set(PEERS.map((peer) => peer.name));
  for (const arg of args) {
    const name = SCENARIOS.find((scenario) => arg === `--only=${scenario}`);
    if (name) only.add(name);
    else if (arg.startsWith("--servers=")) servers = parseServers(arg.slice("--servers=".length));
    else if (!FLAGS.has(arg)) throw new Error(`${USAGE}\nunknown argument ${arg}`);
  }
  if (only.size === 0) for (const name of SCENARIOS) only.add(name);
  const measured = { warmupMs: quick ? 400 : 1000, durationMs: quick ? 1000 : 3000 };
  return {
    quick,
    profile: args.includes("--profile"),
    dist: !args.includes("--src"),
    only,
    servers,
    // Five short runs rather than three long ones: this machine's speed drifts by ±15 % over
    // minutes (the baseline alone: 52k to 70k req/s in one run), and a median of five
    // alternated runs is steadier against it.
    runs: quick ? 1 : 5,
    json: { connections: 64, ...measured },
    ndjson: { rows: 500_000, warmupRows: quick ? 50_000 : 200_000 },
    sse: { clients: 1000, rate: 100, ...measured },
    ws: { echoClients: 100, broadcastClients: 200, rate: 1000, burst: 10, ...measured },
    idle: quick
      ? { connections: 2_000, runs: 1, settleMs: 500 }
      : { connections: 10_000, runs: 2, settleMs: 1_000 },
  };
}

function parseServers(list: string): Set<string> {
  const names = new Set(list.split(",").filter((name) => name !== ""));
  for (const name of names) {
    if (!PEERS.some((peer) => peer.name === name)) {
      throw new Error(`${USAGE}\nunknown server ${name}`);
    }
  }
  names.add(PEERS[0].name); // the baseline
  return names;
}
