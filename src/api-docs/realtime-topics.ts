import { TopicPatterns } from "../topics/topic-pattern.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { ApiCatalog, RealtimeEntry } from "./catalog.js";

export interface RealtimeTopic {
  readonly pattern: string;
  /**
   * The schema of the topic's data, when one covers it: the contract's, else that of the
   * app's topic declarations (`app.topic()`, contracts) that validates its publishes.
   */
  readonly schema: StandardSchemaV1 | undefined;
  /** Clients may publish to it (as far as the endpoint's declarations say). */
  readonly publishable: boolean;
}

/**
 * The schemas of every topic the app declared (`app.topic()`, every endpoint's contract), as
 * the app matches them when it validates a publish: a topic's own name first, then the
 * patterns in the order they were declared.
 */
export function declaredTopics(catalog: ApiCatalog): TopicPatterns<StandardSchemaV1> {
  const declared = new TopicPatterns<StandardSchemaV1>();
  for (const entry of catalog.entries) {
    if (entry.kind === "topic" && declared.own(entry.pattern) === undefined) {
      declared.add(entry.pattern, entry.schema);
    }
  }
  return declared;
}

/**
 * The topics a real-time endpoint shows: its contract's, then those of its `subscribe` and
 * `publish` lists. A contract topic counts as publishable unless a `publish` list leaves it
 * out (a `publish` function decides at run time: it cannot be read from here). A pattern's
 * schema is the contract's, else the declared one that covers it: `chat:*` is covered by a
 * declaration of `chat:*` (or `*:*`), and `chat:lobby` by one of `chat:lobby` or `chat:*`
 * (a `*` of the endpoint's pattern is a whole segment, which a declaration's `*` matches).
 */
export function realtimeTopics(
  entry: RealtimeEntry,
  declared: TopicPatterns<StandardSchemaV1>,
): RealtimeTopic[] {
  const schemas = entry.contract?.topics ?? {};
  const patterns = new Set([
    ...Object.keys(schemas),
    ...(entry.subscribe ?? []),
    ...(entry.publish ?? []),
  ]);
  return [...patterns].map((pattern) => ({
    pattern,
    schema: schemas[pattern] ?? declared.match(pattern),
    publishable: entry.publish === undefined ? pattern in schemas : entry.publish.includes(pattern),
  }));
}

/** The methods a real-time endpoint shows: its own, then those only its contract declares. */
export function realtimeMethods(entry: RealtimeEntry): string[] {
  return [...new Set([...entry.methods, ...Object.keys(entry.contract?.methods ?? {})])];
}
