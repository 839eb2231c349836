import { isPromiseLike } from "../util/is-promise-like.js";
import { runSchema } from "../util/run-schema.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";

/**
 * Whether the schema accepts `value`, asked while a document is written: only a sync answer
 * counts (an async schema, or one that throws, is taken as refusing), and an async run's
 * promise is settled quietly, never left to reject unhandled.
 */
export function acceptsNow(schema: StandardSchemaV1, value: unknown): boolean {
  try {
    const outcome = runSchema(schema, value);
    if (isPromiseLike(outcome)) {
      Promise.resolve(outcome).catch(() => {});
      return false;
    }
    return outcome.ok;
  } catch {
    return false;
  }
}

/** JSON values of each kind: a schema refusing all of them sends no JSON body at all. */
const JSON_PROBES: readonly unknown[] = [null, true, 0, "", {}, []];

/** Accepts `undefined` and none of the JSON probes (`z.void()`, `v.undefined()`). */
export function acceptsOnlyUndefined(schema: StandardSchemaV1): boolean {
  return acceptsNow(schema, undefined) && !JSON_PROBES.some((probe) => acceptsNow(schema, probe));
}
