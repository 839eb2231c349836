import { numericArgument } from "./numeric-argument.js";

/** What bench/h2-fanout.ts runs: parsed from its arguments. */
export interface H2FanoutConfig {
  /** Streams per case (1 000: 1 000 HTTP/1.1 connections, or 10 h2 connections of 100). */
  streams: number;
  /** Streams per h2 connection in the multiplexed case (the server's concurrent-stream limit). */
  perConnection: number;
  /** Events published per second, one at a time. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  runs: number;
  shapes: ("sse" | "ndjson")[];
  transports: ("tls" | "cleartext")[];
  /** Case (c): h2 with one stream per connection, separating the protocol from multiplexing. */
  single: boolean;
  /** Start the servers with --cpu-prof (profiles land in bench/results/profiles). */
  profile: boolean;
  dist: boolean;
  json: boolean;
}

/**
 * 25 events/s to 1 000 streams is 25 000 deliveries/s: at the 10 to 20 µs a delivery costs
 * over TLS on this 2-core VM, a third to a half of the server's core, so the slowest case is
 * not saturated and latency measures a message's path rather than a queue.
 */
const DEFAULTS = {
  streams: 1000,
  "per-connection": 100,
  rate: 25,
  warmup: 0.7,
  duration: 1.5,
  runs: 3,
};
const QUICK = { warmup: 0.5, duration: 1, runs: 1 };

const USAGE = [
  "usage: npm run bench:h2 -- [--quick] [--streams=N] [--per-connection=N] [--rate=N] [--warmup=S]",
  "       [--duration=S] [--runs=N] [--shapes=sse,ndjson] [--transports=tls,cleartext] [--no-single]",
  "       [--profile] [--src] [--json]",
].join("\n");

const NUMERIC = {
  streams: { min: 1, max: 10_000, integer: true },
  "per-connection": { min: 1, max: 100, integer: true },
  rate: { min: 1, max: 1000, integer: true },
  warmup: { min: 0, max: 60, integer: false },
  duration: { min: 0.2, max: 120, integer: false },
  runs: { min: 1, max: 20, integer: true },
} as const;
type NumericName = keyof typeof NUMERIC;
const FLAGS = new Set(["--quick", "--no-single", "--profile", "--src", "--json"]);
const SHAPES = ["sse", "ndjson"] as const;
const TRANSPORTS = ["tls", "cleartext"] as const;

export function parseH2FanoutConfig(args: string[]): H2FanoutConfig {
  const values: Record<NumericName, number> = {
    ...DEFAULTS,
    ...(args.includes("--quick") ? QUICK : {}),
  };
  let shapes: H2FanoutConfig["shapes"] = [...SHAPES];
  let transports: H2FanoutConfig["transports"] = [...TRANSPORTS];
  for (const arg of args) {
    if (FLAGS.has(arg)) continue;
    const [, name, value] = /^--([\w-]+)=(.*)$/.exec(arg) ?? [];
    if (name === "shapes") shapes = listArgument(name, value, SHAPES);
    else if (name === "transports") transports = listArgument(name, value, TRANSPORTS);
    else if (name && name in NUMERIC)
      values[name as NumericName] = numericArgument(
        USAGE,
        name,
        value,
        NUMERIC[name as NumericName],
      );
    else throw new Error(`${USAGE}\nunknown argument ${arg}`);
  }
  if (values.streams % values["per-connection"] !== 0) {
    throw new Error(
      `${USAGE}\n--streams (${values.streams}) must be a multiple of --per-connection (${values["per-connection"]}): every h2 connection carries as many streams`,
    );
  }
  return {
    streams: values.streams,
    perConnection: values["per-connection"],
    rate: values.rate,
    warmupMs: values.warmup * 1000,
    durationMs: values.duration * 1000,
    runs: values.runs,
    shapes,
    transports,
    single: !args.includes("--no-single"),
    profile: args.includes("--profile"),
    dist: !args.includes("--src"),
    json: args.includes("--json"),
  };
}

function listArgument<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(",").filter((item) => item !== "");
  const wrong = items.find((item) => !allowed.includes(item as T));
  if (items.length === 0 || wrong !== undefined) {
    throw new Error(`${USAGE}\n--${name}: a list of ${allowed.join(", ")}, got "${text}"`);
  }
  return [...new Set(items as T[])];
}
