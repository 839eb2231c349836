import { ValidationError } from "../http/validation-error.js";
import { runReceivedSchema } from "../util/run-received-schema.js";
import type { SchemaOutcome } from "../util/run-schema.js";
import { checkSchema, type StandardSchemaV1 } from "../util/standard-schema.js";
import { TopicSegmentError } from "./topic-errors.js";
import { checkDeclaredPattern, TopicPatterns } from "./topic-pattern.js";

/** What `app.topic(nameOrPattern, options)` takes. */
export interface TopicOptions<S extends StandardSchemaV1 = StandardSchemaV1> {
  /**
   * The Standard Schema (zod, valibot, arktype...) of the topic's data: `app.publish()` and
   * real-time publishes are validated with it before anything is stored, and its output is
   * what is stored and delivered.
   */
  schema: S;
}

/**
 * The schemas of the App's declared topics (`app.topic()`, a real-time endpoint's contract):
 * a topic's own name first, then the patterns in the order they were declared. A topic
 * nobody declared has no schema: its data is published as it is.
 */
export class TopicSchemas {
  readonly #declared = new TopicPatterns<StandardSchemaV1>();

  /**
   * Declares the schema of a topic name or pattern; true when new, false when the same schema
   * was declared for it already (a contract shared by two endpoints). Another schema for a
   * pattern declared before is a TypeError: which one would validate its publishes?
   */
  declare(where: string, pattern: unknown, schema: unknown): boolean {
    const checked = checkDeclaredPattern(where, pattern);
    const checkedSchema = checkSchema(`${where} topic ${JSON.stringify(checked)}: schema`, schema);
    if (checkedSchema === undefined) {
      throw new TypeError(`${where}: topic ${JSON.stringify(checked)} needs { schema }`);
    }
    const earlier = this.#declared.own(checked);
    if (earlier === checkedSchema) return false;
    if (earlier !== undefined) throw clash(where, checked);
    this.#declared.add(checked, checkedSchema);
    return true;
  }

  /**
   * Declares several at once, all or none (a clash leaves nothing declared); the ones that
   * were new.
   */
  declareAll(
    where: string,
    entries: readonly (readonly [pattern: string, schema: StandardSchemaV1])[],
  ): (readonly [pattern: string, schema: StandardSchemaV1])[] {
    for (const [pattern, schema] of entries) {
      const earlier = this.#declared.own(pattern);
      if (earlier !== undefined && earlier !== schema) throw clash(where, pattern);
    }
    return entries.filter(([pattern, schema]) => this.declare(where, pattern, schema));
  }

  /** Takes back declarations (those of an `app.realtime()` that was refused after all). */
  undeclare(patterns: readonly string[]): void {
    for (const pattern of patterns) this.#declared.remove(pattern);
  }

  /**
   * The data to store for a publish to `topic`: the schema's output, synchronously when the
   * schema is sync (no promise on the hot path), or `data` itself for an undeclared topic. A
   * refusal throws a ValidationError (target `topic "chat:1"`); a schema that throws, a
   * SchemaError. A topic only a pattern's type covers (`chat:a:b` for `chat:*`) throws a
   * TopicSegmentError: typed as that pattern's, it must not be stored unvalidated.
   */
  validate(topic: string, data: unknown): unknown {
    if (this.#declared.size === 0) return data;
    const schema = this.#declared.match(topic);
    if (schema === undefined) {
      const pattern = this.#declared.looseMatch(topic);
      if (pattern !== undefined) throw new TopicSegmentError(topic, pattern);
      return data;
    }
    const outcome = runReceivedSchema(schema, data);
    if (outcome instanceof Promise) return outcome.then((settled) => storedValue(topic, settled));
    return storedValue(topic, outcome);
  }
}

function clash(where: string, pattern: string): TypeError {
  return new TypeError(
    `${where}: topic ${JSON.stringify(pattern)} is declared already, with another schema; declare each topic once (share the schema object, or the contract)`,
  );
}

function storedValue(topic: string, outcome: SchemaOutcome<unknown>): unknown {
  if (outcome.ok) return outcome.value;
  throw new ValidationError(`topic ${JSON.stringify(topic)}`, outcome.issues, outcome.total);
}
