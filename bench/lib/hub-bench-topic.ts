/** The one topic of bench/hub-fanout.ts: its publisher publishes to it, every subscriber follows it. */
export const HUB_BENCH_TOPIC = "hub-bench";
