import { isPromiseLike } from "./is-promise-like.js";
import { runSchema, SchemaError, type SchemaOutcome } from "./run-schema.js";
import type { InferOutput, StandardSchemaV1 } from "./standard-schema.js";

/** The issue a value too deep for its schema is refused with. */
export const TOO_DEEP_MESSAGE = "Nested too deeply to validate";

const TOO_DEEP: SchemaOutcome<never> = {
  ok: false,
  issues: [{ path: "", pointer: "", message: TOO_DEEP_MESSAGE }],
  total: 1,
};

/**
 * runSchema on what a client sent (a message, a publish): as runSchema, except that a value
 * nested too deeply for its schema is refused, not a SchemaError. A recursive schema
 * (`z.lazy`, `v.lazy`) recurses once per level of the value, so JSON nested a few thousand
 * deep, well under any size limit, overflows the stack inside the library: that is the
 * client's input, not the server's bug. Any other throw still is.
 */
export function runReceivedSchema<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): SchemaOutcome<InferOutput<S>> | Promise<SchemaOutcome<InferOutput<S>>> {
  let outcome: SchemaOutcome<InferOutput<S>> | Promise<SchemaOutcome<InferOutput<S>>>;
  try {
    outcome = runSchema(schema, value);
  } catch (error) {
    return refusedIfTooDeep(error);
  }
  return isPromiseLike(outcome) ? outcome.then(undefined, refusedIfTooDeep) : outcome;
}

function refusedIfTooDeep(error: unknown): SchemaOutcome<never> {
  if (
    error instanceof SchemaError &&
    error.cause instanceof RangeError &&
    error.cause.message.includes("call stack")
  ) {
    return TOO_DEEP;
  }
  throw error;
}
