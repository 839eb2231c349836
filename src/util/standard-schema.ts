import type { StandardSchemaV1 } from "@standard-schema/spec";

export type { StandardJSONSchemaV1, StandardSchemaV1 } from "@standard-schema/spec";

/** What a schema accepts: the type of the value handed to it (a request body, a publish). */
export type InferInput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : unknown;
/** What a schema gives back once the value passed: what handlers and subscribers get. */
export type InferOutput<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown;

/**
 * True for any Standard Schema (zod, valibot, arktype, ...): an object or function with a
 * `~standard` property of version 1 whose `validate` is a function. Nothing else is asked of
 * it, so sluice depends on no schema library.
 */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const standard = (value as Partial<StandardSchemaV1>)["~standard"];
  return (
    typeof standard === "object" &&
    standard !== null &&
    standard.version === 1 &&
    typeof standard.validate === "function"
  );
}

/**
 * `value` as a schema, undefined when absent; anything else throws a TypeError naming `where`
 * (`POST /users: body`), when the route or topic is declared rather than at the first request.
 */
export function checkSchema(where: string, value: unknown): StandardSchemaV1 | undefined {
  if (value === undefined) return undefined;
  if (isStandardSchema(value)) return value;
  throw new TypeError(
    `${where} must be a Standard Schema (a zod, valibot or arktype schema, or any object with a "~standard" property of version 1), got ${describeValue(value)}`,
  );
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return typeof value;
}
