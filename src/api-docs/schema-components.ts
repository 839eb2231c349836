import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { JsonSchemaConverter, SchemaDirection } from "./document-options.js";
import { type JsonSchema, type JsonSchemaTarget, jsonSchemaOf } from "./json-schema.js";
import { pascalName, type UniqueNames } from "./unique-names.js";

const COMPONENTS = "#/components/schemas";

interface Converted {
  readonly json: JsonSchema;
  /** Its name in components: given at once when it has `$ref`s, else when it is used twice. */
  name: string | undefined;
  readonly hint: string;
  /** The places it is embedded, filled by `finish()`. */
  readonly slots: JsonSchema[];
}

/**
 * The JSON Schemas of one document, each schema converted once per direction. A schema used
 * in one place is written there; one used in several, or holding `$ref`s (a recursive zod
 * schema refers to its root as `#`), goes to `components.schemas` and is referred to, its
 * own refs rewritten to point into its new place.
 */
export class SchemaComponents {
  readonly #converted = new Map<StandardSchemaV1, Map<SchemaDirection, Converted>>();
  readonly #target: JsonSchemaTarget;
  readonly #converter: JsonSchemaConverter | undefined;
  readonly #names: UniqueNames;

  constructor(
    target: JsonSchemaTarget,
    converter: JsonSchemaConverter | undefined,
    names: UniqueNames,
  ) {
    this.#target = target;
    this.#converter = converter;
    this.#names = names;
  }

  /** A schema object to put where `schema` is used; its content comes with `finish()`. */
  embed(schema: StandardSchemaV1, io: SchemaDirection, hint: string): JsonSchema {
    const slot: JsonSchema = {};
    this.#convert(schema, io, hint).slots.push(slot);
    return slot;
  }

  /** The converted schema itself, to read its properties (its refs already point into components). */
  read(schema: StandardSchemaV1, io: SchemaDirection, hint: string): JsonSchema {
    return this.#convert(schema, io, hint).json;
  }

  /** Fills every embedded place and returns the components, or undefined when there are none. */
  finish(): Record<string, JsonSchema> | undefined {
    const components: Record<string, JsonSchema> = {};
    for (const byDirection of this.#converted.values()) {
      for (const converted of byDirection.values()) {
        const { json, slots } = converted;
        if (converted.name === undefined && slots.length <= 1) {
          if (slots[0] !== undefined) Object.assign(slots[0], json);
          continue;
        }
        converted.name ??= this.#names.take(converted.hint);
        components[converted.name] = json;
        for (const slot of slots) slot.$ref = `${COMPONENTS}/${converted.name}`;
      }
    }
    return Object.keys(components).length === 0 ? undefined : components;
  }

  #convert(schema: StandardSchemaV1, io: SchemaDirection, hint: string): Converted {
    let byDirection = this.#converted.get(schema);
    if (byDirection === undefined) {
      byDirection = new Map();
      this.#converted.set(schema, byDirection);
    }
    let converted = byDirection.get(io);
    if (converted === undefined) {
      const json = jsonSchemaOf(schema, io, this.#target, this.#converter);
      const name = hasLocalRef(json) ? this.#names.take(pascalName(hint)) : undefined;
      if (name !== undefined) rebaseLocalRefs(json, `${COMPONENTS}/${name}`);
      converted = { json, name, hint: pascalName(hint), slots: [] };
      byDirection.set(io, converted);
    }
    return converted;
  }
}

/** `#` or `#/...`: a JSON Pointer into the schema's own document (an `#anchor` is left alone). */
function isLocalPointer(ref: unknown): ref is string {
  return typeof ref === "string" && (ref === "#" || ref.startsWith("#/"));
}

function hasLocalRef(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(hasLocalRef);
  for (const [key, child] of Object.entries(value)) {
    if (key === "$ref" && isLocalPointer(child)) return true;
    if (hasLocalRef(child)) return true;
  }
  return false;
}

/** `#` and `#/$defs/x`, which meant the schema's own root, now mean `base` and `base/$defs/x`. */
function rebaseLocalRefs(value: unknown, base: string): void {
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) rebaseLocalRefs(item, base);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(record)) {
    if (key === "$ref" && isLocalPointer(child)) {
      record.$ref = base + (child as string).slice(1);
    } else {
      rebaseLocalRefs(child, base);
    }
  }
}
