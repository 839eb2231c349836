// What "back to baseline" means, check by check: counts must come back exactly, memory within
// a tolerance.
import type { ChurnResult } from "./churn.js";
import type { ServerStats } from "./protocol.js";

export interface Tolerances {
  /** RSS after may exceed RSS before by this many bytes... */
  rssBytes: number;
  /** ...or by this fraction of RSS before, whichever is larger. */
  rssFraction: number;
  /** heapUsed after (both after full GCs) may exceed heapUsed before by this many bytes. */
  heapBytes: number;
}

export interface Check {
  name: string;
  before: string;
  after: string;
  /** What `after` must be. */
  rule: string;
  ok: boolean;
}

const MiB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function equalCheck(name: string, before: number, after: number): Check {
  return {
    name,
    before: String(before),
    after: String(after),
    rule: "= before",
    ok: before === after,
  };
}

function zeroCheck(name: string, before: number, after: number): Check {
  return { name, before: String(before), after: String(after), rule: "= 0", ok: after === 0 };
}

function recordChecks(
  prefix: string,
  before: Record<string, number>,
  after: Record<string, number>,
): Check[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.map((key) => equalCheck(`${prefix} ${key}`, before[key] ?? 0, after[key] ?? 0));
}

/** A pair of counters (started, finished) that must be equal after the churn, and have moved. */
function balancedCheck(
  name: string,
  before: { started: number; finished: number },
  after: { started: number; finished: number },
): Check[] {
  const ran = after.started - before.started;
  return [
    {
      name: `${name} started during the churn`,
      before: "",
      after: String(ran),
      rule: "> 0",
      ok: ran > 0,
    },
    {
      name: `${name} finished / started`,
      before: `${before.finished} / ${before.started}`,
      after: `${after.finished} / ${after.started}`,
      rule: "equal",
      ok: after.finished === after.started,
    },
  ];
}

function memoryChecks(before: ServerStats, after: ServerStats, tolerances: Tolerances): Check[] {
  const rssLimit = before.rss + Math.max(tolerances.rssBytes, before.rss * tolerances.rssFraction);
  const heapLimit = before.heapUsed + tolerances.heapBytes;
  return [
    {
      name: "RSS",
      before: mib(before.rss),
      after: `${mib(after.rss)} (peak ${mib(after.peakRss)})`,
      rule: `<= ${mib(rssLimit)}`,
      ok: after.rss <= rssLimit,
    },
    {
      name: "heapUsed",
      before: mib(before.heapUsed),
      after: mib(after.heapUsed),
      rule: `<= ${mib(heapLimit)}`,
      ok: after.heapUsed <= heapLimit,
    },
  ];
}

function clientChecks(churn: ChurnResult): Check[] {
  return [
    {
      name: "errors seen by clients",
      before: "",
      after: String(churn.failureCount),
      rule: "= 0",
      ok: churn.failureCount === 0,
    },
    {
      name: "clients finished / started",
      before: "",
      after: `${churn.finished} / ${churn.started}`,
      rule: "equal",
      ok: churn.finished === churn.started && churn.started > 0,
    },
  ];
}

export function compareWithBaseline(
  before: ServerStats,
  after: ServerStats,
  churn: ChurnResult,
  tolerances: Tolerances,
): Check[] {
  return [
    ...clientChecks(churn),
    zeroCheck(
      "app.connections.websocket",
      before.connections.websocket,
      after.connections.websocket,
    ),
    zeroCheck("app.connections.sse", before.connections.sse, after.connections.sse),
    zeroCheck("app.topicSubscribers", before.topicSubscribers, after.topicSubscribers),
    equalCheck("server.getConnections()", before.serverConnections, after.serverConnections),
    ...balancedCheck("stream producers", before.producers, after.producers),
    ...balancedCheck("WebSocket handlers", before.websocketHandlers, after.websocketHandlers),
    ...recordChecks("active resources:", before.resources, after.resources),
    ...recordChecks("server listeners:", before.listeners, after.listeners),
    equalCheck("error lines logged by the app", before.logged.error, after.logged.error),
    equalCheck("warn lines logged by the app", before.logged.warn, after.logged.warn),
    ...memoryChecks(before, after, tolerances),
  ];
}
