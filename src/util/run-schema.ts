import type { StandardSchemaV1 } from "@standard-schema/spec";
import { isPromiseLike } from "./is-promise-like.js";
import type { InferOutput } from "./standard-schema.js";
import { toValidationIssues, type ValidationIssue } from "./validation-issue.js";

/** What a schema made of a value: its output, or why it refused it. */
export type SchemaOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly issues: readonly ValidationIssue[];
      /** Issues the library reported in all (more than `issues` holds past the cap). */
      readonly total: number;
    };

/**
 * The schema threw (or its promise rejected) instead of returning issues: a bug on the
 * server's side, never the client's. Callers answer it as one (500, close 1011) and log it.
 */
export class SchemaError extends Error {
  constructor(vendor: string, cause: unknown) {
    const what = cause instanceof Error ? cause.message : String(cause);
    super(`The ${vendor} schema threw instead of returning issues: ${what}`, { cause });
    this.name = "SchemaError";
  }
}

/**
 * Runs a Standard Schema on a value. Synchronous when the schema is (most are: no promise,
 * no extra turn on the hot path), a promise when it is async. A schema that throws gives a
 * SchemaError (thrown, or the promise rejects with it).
 *
 * zod 4's `validate` tries a sync parse first and, on meeting an async refinement or
 * transform, parses again asynchronously (colinhacks/zod#6610): the refinement runs twice,
 * and if it throws, the promise of the abandoned first run rejects where nobody can handle
 * it (Node then ends the process). So a zod schema seen returning a promise once is run with
 * its own `safeParseAsync` from then on: one run, nothing abandoned. Only its first use can
 * meet the upstream bug: async zod refinements should catch their own errors and return
 * false.
 */
export function runSchema<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): SchemaOutcome<InferOutput<S>> | Promise<SchemaOutcome<InferOutput<S>>> {
  const standard = schema["~standard"];
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;
  try {
    result = KNOWN_ASYNC_ZOD.has(schema)
      ? zodParseAsync(schema as unknown as ZodAsyncParser, value)
      : standard.validate(value);
  } catch (error) {
    throw new SchemaError(standard.vendor, error);
  }
  if (isPromiseLike(result)) {
    if (standard.vendor === "zod" && hasSafeParseAsync(schema)) KNOWN_ASYNC_ZOD.add(schema);
    return Promise.resolve(result).then(
      (settled) => outcomeOf<InferOutput<S>>(settled, standard.vendor),
      (error: unknown) => {
        throw new SchemaError(standard.vendor, error);
      },
    );
  }
  return outcomeOf<InferOutput<S>>(result, standard.vendor);
}

/** zod schemas that returned a promise once: run with `safeParseAsync` (see runSchema). */
const KNOWN_ASYNC_ZOD = new WeakSet<object>();

interface ZodAsyncParser {
  safeParseAsync(
    value: unknown,
  ): Promise<
    | { success: true; data: unknown }
    | { success: false; error: { issues: readonly StandardSchemaV1.Issue[] } }
  >;
}

function hasSafeParseAsync(schema: object): schema is ZodAsyncParser {
  return typeof (schema as Partial<ZodAsyncParser>).safeParseAsync === "function";
}

/** zod's own async parse, as the Standard Schema result its `validate` would give. */
async function zodParseAsync(
  schema: ZodAsyncParser,
  value: unknown,
): Promise<StandardSchemaV1.Result<unknown>> {
  const parsed = await schema.safeParseAsync(value);
  return parsed.success ? { value: parsed.data } : { issues: parsed.error.issues };
}

const UNSPECIFIED: readonly StandardSchemaV1.Issue[] = [{ message: "Invalid value" }];

function outcomeOf<T>(result: StandardSchemaV1.Result<unknown>, vendor: string): SchemaOutcome<T> {
  if (typeof result !== "object" || result === null) {
    throw new SchemaError(vendor, new TypeError(`validate() returned ${String(result)}`));
  }
  if (result.issues === undefined) return { ok: true, value: result.value as T };
  // An empty list still means "refused" in the spec: say so rather than let the value in.
  const issues =
    Array.isArray(result.issues) && result.issues.length > 0 ? result.issues : UNSPECIFIED;
  return { ok: false, issues: toValidationIssues(issues), total: issues.length };
}
