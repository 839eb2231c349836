import { HubProblem } from "./hub-problem.js";

/** Messages GET /topics/{topic}/history answers without `limit`, and at most. */
export const DEFAULT_HISTORY_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 1000;
/** Longest `after` id read: ids are short cursors (Redis stream ids, memory counters). */
const MAX_AFTER_LENGTH = 200;

/** `?after=<id>&limit=<n>` of a history request; 400 saying what is wrong. */
export function historyQuery(query: URLSearchParams): { after?: string; limit: number } {
  const after = single(query, "after");
  const limitText = single(query, "limit");
  if (after !== undefined && after.length > MAX_AFTER_LENGTH) {
    throw new HubProblem(400, `after is too long: an id is at most ${MAX_AFTER_LENGTH} characters`);
  }
  const limit = limitText === undefined ? DEFAULT_HISTORY_LIMIT : Number(limitText);
  if (!/^\d+$/.test(limitText ?? "1") || limit < 1 || limit > MAX_HISTORY_LIMIT) {
    throw new HubProblem(
      400,
      `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}, got ${JSON.stringify(limitText)}`,
    );
  }
  return { after: after === "" ? undefined : after, limit };
}

function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new HubProblem(400, `${name} is given more than once`);
  return values[0];
}
