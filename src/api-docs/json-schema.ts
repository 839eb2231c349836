import type { StandardJSONSchemaV1, StandardSchemaV1 } from "../util/standard-schema.js";
import type { JsonSchemaConverter, SchemaDirection } from "./document-options.js";

/** A JSON Schema as the documents embed it: a plain JSON object. */
export type JsonSchema = Record<string, unknown>;

export type JsonSchemaTarget = "draft-2020-12" | "draft-07";

/**
 * The JSON Schema of `schema` as `io`: the `converter` option's answer when it gives one,
 * else the library's Standard JSON Schema (`~standard.jsonSchema`, which zod 4 and arktype
 * have, and valibot through `toStandardJsonSchema()`). A schema neither converts is
 * documented as `{}` (any value) with a description saying so; a conversion that throws (zod
 * refuses dates and transforms, say) the same, with its message. Never throws: a document
 * is written whatever the schemas, and nothing is logged.
 */
export function jsonSchemaOf(
  schema: StandardSchemaV1,
  io: SchemaDirection,
  target: JsonSchemaTarget,
  converter: JsonSchemaConverter | undefined,
): JsonSchema {
  const vendor = vendorOf(schema);
  try {
    const converted = converter?.(schema, io, target) ?? standardJsonSchema(schema, io, target);
    if (converted === undefined) {
      return undocumented(
        `the ${vendor} schema offers no JSON Schema (give it Standard JSON Schema, or convert it with the jsonSchema option)`,
      );
    }
    // A copy made of JSON only: the document is JSON, and its refs get rewritten in place.
    const copy: unknown = JSON.parse(JSON.stringify(converted));
    if (typeof copy !== "object" || copy === null || Array.isArray(copy)) {
      return undocumented(`converting the ${vendor} schema gave no JSON Schema object`);
    }
    return withoutDialect(copy as JsonSchema);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return undocumented(`converting the ${vendor} schema failed: ${reason}`);
  }
}

function standardJsonSchema(
  schema: StandardSchemaV1,
  io: SchemaDirection,
  target: JsonSchemaTarget,
): object | undefined {
  const standard = schema["~standard"] as Partial<StandardJSONSchemaV1.Props>;
  const converter = standard.jsonSchema;
  if (typeof converter?.[io] !== "function") return undefined;
  return converter[io]({ target });
}

function vendorOf(schema: StandardSchemaV1): string {
  const vendor = schema["~standard"].vendor;
  return typeof vendor === "string" && vendor !== "" ? vendor : "unnamed";
}

const UNDOCUMENTED = "Not documented: ";

function undocumented(reason: string): JsonSchema {
  return { description: `${UNDOCUMENTED}${reason}.` };
}

/** True for what jsonSchemaOf gives a schema it could not convert. */
export function isUndocumented(json: JsonSchema): boolean {
  return typeof json.description === "string" && json.description.startsWith(UNDOCUMENTED);
}

/** An embedded schema takes the document's dialect: its own `$schema` would contradict it. */
function withoutDialect(schema: JsonSchema): JsonSchema {
  if (!("$schema" in schema)) return schema;
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}
