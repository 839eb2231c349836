import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { RealtimeEntry } from "./catalog.js";

export interface RealtimeTopic {
  readonly pattern: string;
  /** The contract's schema of the topic's data, when it declares one. */
  readonly schema: StandardSchemaV1 | undefined;
  /** Clients may publish to it (as far as the endpoint's declarations say). */
  readonly publishable: boolean;
}

/**
 * The topics a real-time endpoint shows: its contract's, then those of its `subscribe` and
 * `publish` lists. A contract topic counts as publishable unless a `publish` list leaves it
 * out (a `publish` function decides at run time: it cannot be read from here).
 */
export function realtimeTopics(entry: RealtimeEntry): RealtimeTopic[] {
  const schemas = entry.contract?.topics ?? {};
  const patterns = new Set([
    ...Object.keys(schemas),
    ...(entry.subscribe ?? []),
    ...(entry.publish ?? []),
  ]);
  return [...patterns].map((pattern) => ({
    pattern,
    schema: schemas[pattern],
    publishable: entry.publish === undefined ? pattern in schemas : entry.publish.includes(pattern),
  }));
}

/** The methods a real-time endpoint shows: its own, then those only its contract declares. */
export function realtimeMethods(entry: RealtimeEntry): string[] {
  return [...new Set([...entry.methods, ...Object.keys(entry.contract?.methods ?? {})])];
}
