import { BASELINE, PEERS, peerNamed, SLUICE } from "./peers.js";
import { P99, type ScenarioResult, type TargetResult } from "./scenario.js";

/** One of the targets for sluice, checked against a run's medians. */
export interface Goal {
  scenario: string;
  label: string;
  /** sluice's figure as shown, and whether it reaches the goal (undefined: not measured). */
  check(scenarios: ScenarioResult[]): { shown: string; met: boolean } | undefined;
}

/** sluice's median of `key` divided by the baseline's, in scenario `id`. */
function ratioGoal(id: string, key: string, op: "<=" | ">=", goal: number, label: string): Goal {
  return {
    scenario: id,
    label: `${label}: ${op === "<=" ? "≤" : "≥"} ${goal}× ${BASELINE}`,
    check(scenarios) {
      const [base, sluice] = medians(scenarios, id, BASELINE, SLUICE);
      if (base?.[key] === undefined || sluice?.[key] === undefined) return undefined;
      const ratio = sluice[key] / base[key];
      return { shown: `${ratio.toFixed(2)}×`, met: op === "<=" ? ratio <= goal : ratio >= goal };
    },
  };
}

/** sluice's median of `key` at most `goal`, in scenario `id`. */
function absoluteGoal(id: string, key: string, goal: number, label: string): Goal {
  return {
    scenario: id,
    label: `${label}: ≤ ${goal}`,
    check(scenarios) {
      const [sluice] = medians(scenarios, id, SLUICE);
      if (sluice?.[key] === undefined) return undefined;
      return { shown: sluice[key].toFixed(2), met: sluice[key] <= goal };
    },
  };
}

/**
 * The median of `key` of server `label` divided by that of server `than`, in scenario `id`, at
 * most `goal`: one way of using sluice against another, measured in the same run.
 */
function variantGoal(id: string, key: string, label: string, than: string, goal: number): Goal {
  return {
    scenario: id,
    label: `(${id}) ${label}, ${key}: ≤ ${goal}× ${than}`,
    check(scenarios) {
      const [theirs, ours] = medians(scenarios, id, than, label);
      if (theirs?.[key] === undefined || ours?.[key] === undefined) return undefined;
      const ratio = ours[key] / theirs[key];
      return { shown: `${ratio.toFixed(2)}× ${than}`, met: ratio <= goal };
    },
  };
}

/** The servers sluice is compared with: not the baseline, sluice used another way, nor the floor. */
function isPeer(label: string): boolean {
  const peer = peerNamed(label);
  return label !== SLUICE && label !== BASELINE && !peer?.sluiceVariant && !peer?.floor;
}

/** In every scenario, sluice's main metric beats every peer's (the baseline is not a peer). */
const aheadOfPeers: Goal = {
  scenario: "all",
  label: `sluice ahead of every peer (${PEERS.map((peer) => peer.name)
    .filter(isPeer)
    .join(", ")}) in every scenario`,
  check(scenarios) {
    const behind = scenarios.flatMap((scenario) => {
      const sluice = find(scenario, SLUICE);
      if (!sluice) return [];
      return scenario.results
        .filter((result) => isPeer(result.label))
        .filter((peer) => !isAhead(sluice, peer, scenario))
        .map((peer) => `(${scenario.id}) ${peer.label}`);
    });
    return {
      shown: behind.length === 0 ? "ahead in all" : `behind: ${behind.join(", ")}`,
      met: behind.length === 0,
    };
  },
};

/** In every scenario with latencies, sluice's p99 is no worse than the baseline's. */
const p99NoWorse: Goal = {
  scenario: "all",
  label: `sluice p99 latency ≤ ${BASELINE}'s in every scenario`,
  check(scenarios) {
    const worse = scenarios.flatMap((scenario) => {
      const [base, sluice] = [find(scenario, BASELINE), find(scenario, SLUICE)];
      const [b, s] = [base?.median[P99], sluice?.median[P99]];
      if (b === undefined || s === undefined || !Number.isFinite(b)) return [];
      return s <= b ? [] : [`(${scenario.id}) ${s.toFixed(2)} vs ${b.toFixed(2)} ms`];
    });
    return { shown: worse.length === 0 ? "yes" : worse.join(", "), met: worse.length === 0 };
  },
};

export const GOALS: Goal[] = [
  ratioGoal("a", "server CPU µs/event", "<=", 0.8, "(a) SSE fan-out, CPU per delivered event"),
  ratioGoal(
    "b",
    "server CPU µs/delivery",
    "<=",
    0.35,
    "(b) WS fan-out in bursts, CPU per delivery",
  ),
  ratioGoal("c", "round trips/s", ">=", 1.0, "(c) WS echo, round trips/s"),
  ratioGoal("d", "payload MB/s", ">=", 1.5, "(d) NDJSON, MB/s"),
  absoluteGoal("e-sse", "RSS KB/connection", 6, "(e) idle SSE connection, RSS KB"),
  absoluteGoal("e-ws", "RSS KB/connection", 7, "(e) idle WebSocket connection, RSS KB"),
  ratioGoal("f", "req/s", ">=", 0.95, "(f) JSON GET, req/s"),
  {
    scenario: "f",
    label: "(f) JSON GET, req/s: ≥ Fastify's",
    check(scenarios) {
      const [fastify, sluice] = medians(scenarios, "f", "Fastify", SLUICE);
      if (!fastify || !sluice) return undefined;
      const ratio = sluice["req/s"] / fastify["req/s"];
      return { shown: `${ratio.toFixed(2)}× Fastify`, met: ratio >= 1 };
    },
  },
  // The target for the real-time endpoint: its protocol costs little over topics.
  variantGoal("b", "server CPU µs/delivery", "sluice realtime", "sluice topics", 1.1),
  // Typed contracts: a topic's schema runs once per publish, not per delivery, so fanning
  // out validated data costs what fanning out the same data unchecked does (within noise).
  variantGoal("a", "server CPU µs/event", "sluice topics zod", "sluice topics", 1.05),
  variantGoal("b", "server CPU µs/delivery", "sluice topics zod", "sluice topics", 1.05),
  // A WebSocket route's schema runs once per message, on top of the JSON parse and stringify
  // any typed route does (sluice json echo), and nothing else may cost more.
  variantGoal("c", "server CPU µs/round trip", "sluice zod", "sluice json echo", 1.1),
  aheadOfPeers,
  p99NoWorse,
];

function find(scenario: ScenarioResult, label: string): TargetResult | undefined {
  return scenario.results.find((result) => result.label === label);
}

function medians(scenarios: ScenarioResult[], id: string, ...labels: string[]) {
  const scenario = scenarios.find((candidate) => candidate.id === id);
  return labels.map((label) => (scenario ? find(scenario, label)?.median : undefined));
}

function isAhead(sluice: TargetResult, peer: TargetResult, scenario: ScenarioResult): boolean {
  const { key, better } = scenario.main;
  const [mine, theirs] = [sluice.median[key], peer.median[key]];
  return better === "higher" ? mine >= theirs : mine <= theirs;
}
