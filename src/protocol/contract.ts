import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Jsonified } from "./jsonified.js";

/*
 * A real-time contract: the schemas of an endpoint's topics and methods, written once and
 * shared by the server (`app.realtime(path, { contract })`, which validates with them) and
 * the client (`connect<typeof contract>(url)`, typed from them). Layer 0: the client imports
 * it too, so nothing here may need Node or a package at run time (the schema types are
 * erased).
 */

/** A method's schemas: `params` (what the caller sends) and `result` (what it gets back). */
export interface MethodSchemas {
  readonly params?: StandardSchemaV1;
  readonly result?: StandardSchemaV1;
}

/** What `defineContract()` takes: topic names or patterns (`"chat:*"`) and methods by name. */
export interface ContractDefinition {
  readonly topics?: Readonly<Record<string, StandardSchemaV1>>;
  readonly methods?: Readonly<Record<string, MethodSchemas>>;
}

/** Marks an object made by defineContract(), so `app.realtime()` can tell it from a typo. */
export const CONTRACT_MARK: unique symbol = Symbol.for("sluice.contract");

/** A checked, frozen contract: pass it to `app.realtime(path, { contract })` and `connect<typeof contract>()`. */
export interface Contract<Def extends ContractDefinition = ContractDefinition> {
  readonly topics: NonNullable<Def["topics"]>;
  readonly methods: NonNullable<Def["methods"]>;
  readonly [CONTRACT_MARK]: true;
}

/** Topic patterns: names whose `*` segments stand for one or more characters other than ":". */
const TOPIC_PATTERN = /^(?:[^\s*:]+|\*)(?::(?:[^\s*:]+|\*))*$/;
const METHOD_NAME = /^[A-Za-z_$][\w$.:-]{0,99}$/;

/**
 * Declares a real-time contract. Topic keys are names (`"dashboard"`) or patterns
 * (`"chat:*"`); each value is a Standard Schema (zod, valibot, arktype...) of the topic's
 * data. Methods map a name to `{ params?, result? }` schemas. Throws a TypeError naming what
 * is wrong (a key that is no topic pattern, a value that is no schema).
 *
 * ```ts
 * export const contract = defineContract({
 *   topics: { "chat:*": z.object({ text: z.string().max(500) }) },
 *   methods: { rename: { params: z.object({ name: z.string() }), result: z.boolean() } },
 * });
 * ```
 */
export function defineContract<const Def extends ContractDefinition>(
  definition: Def,
): Contract<Def> {
  if (typeof definition !== "object" || definition === null || Array.isArray(definition)) {
    throw new TypeError("defineContract() takes an object: { topics?, methods? }");
  }
  for (const key of Object.keys(definition)) {
    if (key !== "topics" && key !== "methods") {
      throw new TypeError(`defineContract(): unknown key "${key}" (expected topics, methods)`);
    }
  }
  const topics = recordOf(definition.topics, "topics");
  for (const [pattern, schema] of Object.entries(topics)) {
    if (!TOPIC_PATTERN.test(pattern)) {
      throw new TypeError(
        `defineContract(): topics["${pattern}"] is not a topic name or pattern ("room", "chat:*": "*" stands for a whole segment between ":")`,
      );
    }
    checkContractSchema(schema, `topics["${pattern}"]`);
  }
  const methods = recordOf(definition.methods, "methods");
  for (const [name, method] of Object.entries(methods)) {
    if (!METHOD_NAME.test(name)) {
      throw new TypeError(`defineContract(): "${name}" is not a valid method name`);
    }
    if (typeof method !== "object" || method === null || Array.isArray(method)) {
      throw new TypeError(`defineContract(): methods["${name}"] must be { params?, result? }`);
    }
    for (const key of Object.keys(method)) {
      if (key !== "params" && key !== "result") {
        throw new TypeError(
          `defineContract(): methods["${name}"] has an unknown key "${key}" (expected params, result)`,
        );
      }
      checkContractSchema((method as Record<string, unknown>)[key], `methods["${name}"].${key}`);
    }
  }
  return Object.freeze({
    topics: Object.freeze({ ...topics }),
    methods: Object.freeze({ ...methods }),
    [CONTRACT_MARK]: true as const,
  }) as unknown as Contract<Def>;
}

/** True for what defineContract() returned. */
export function isContract(value: unknown): value is Contract {
  return typeof value === "object" && value !== null && CONTRACT_MARK in value;
}

function recordOf(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`defineContract(): ${name} must be an object keyed by name`);
  }
  return value as Record<string, unknown>;
}

function checkContractSchema(value: unknown, where: string): void {
  const standard =
    (typeof value === "object" || typeof value === "function") && value !== null
      ? (value as { "~standard"?: { version?: unknown; validate?: unknown } })["~standard"]
      : undefined;
  if (standard?.version !== 1 || typeof standard.validate !== "function") {
    throw new TypeError(
      `defineContract(): ${where} must be a Standard Schema (zod, valibot, arktype...)`,
    );
  }
}

// ---- Types derived from a contract (what the client and the server's handlers see) ----

/**
 * The topic names a pattern stands for: `"chat:*"` is `` `chat:${string}` ``. A template type
 * cannot say "no `:`", so this also covers `chat:a:b` and `chat:`, which `*` (one whole
 * segment) does not match at run time: the server refuses publishes to such a topic when no
 * declaration covers it (a TypeError naming the pattern), so nothing unvalidated is stored
 * under a name typed as the pattern's.
 */
export type TopicOfPattern<P extends string> = P extends `${infer Head}*${infer Tail}`
  ? `${Head}${string}${TopicOfPattern<Tail>}`
  : P;

type TopicsOf<C> = C extends Contract<infer Def> ? NonNullable<Def["topics"]> : never;
type MethodsOf<C> = C extends Contract<infer Def> ? NonNullable<Def["methods"]> : never;

/** Every topic name a contract allows: its names, and its patterns as template types. */
export type ContractTopic<C> = {
  [P in keyof TopicsOf<C> & string]: TopicOfPattern<P>;
}[keyof TopicsOf<C> & string];

/** The schema of topic `T`: its own entry if it has one, else those of the patterns it matches. */
export type ContractTopicSchema<C, T extends string> = T extends keyof TopicsOf<C>
  ? TopicsOf<C>[T]
  : {
      [P in keyof TopicsOf<C> & string]: T extends TopicOfPattern<P> ? TopicsOf<C>[P] : never;
    }[keyof TopicsOf<C> & string];

/** The schema's output for topic `T`: what the server stores (and a `publish` rule sees). */
export type ContractTopicOutput<C, T extends string> = StandardSchemaV1.InferOutput<
  ContractTopicSchema<C, T> & StandardSchemaV1
>;
/**
 * What subscribers of `T` receive: the schema's output after its JSON round trip (a `Date`
 * output is received as a string, see `Jsonified`).
 */
export type ContractTopicData<C, T extends string> = Jsonified<ContractTopicOutput<C, T>>;
/** The outputs of all of a contract's topics: what its endpoint's `publish` function sees. */
export type ContractTopicsOutput<C> = {
  [P in keyof TopicsOf<C> & string]: StandardSchemaV1.InferOutput<
    TopicsOf<C>[P] & StandardSchemaV1
  >;
}[keyof TopicsOf<C> & string];
/**
 * A contract's topics as the App's topic map (as `app.topic()` builds it): what
 * `app.realtime(path, { contract })` adds to the App's types. `{}` without topics.
 */
export type ContractTopics<C> =
  C extends Contract<infer Def>
    ? Def["topics"] extends Readonly<Record<string, StandardSchemaV1>>
      ? Def["topics"]
      : Record<never, never>
    : Record<never, never>;
/** What a publish to `T` may send: the schema's input (the server validates it). */
export type ContractPublishData<C, T extends string> = StandardSchemaV1.InferInput<
  ContractTopicSchema<C, T> & StandardSchemaV1
>;

/** The method names of a contract. */
export type ContractMethod<C> = keyof MethodsOf<C> & string;

type MethodPart<C, M, Part extends "params" | "result"> = M extends keyof MethodsOf<C>
  ? MethodsOf<C>[M] extends { readonly [K in Part]: infer S extends StandardSchemaV1 }
    ? S
    : undefined
  : never;

/** What a caller of `M` sends (the params schema's input; `unknown` without a schema). */
export type ContractCallParams<C, M> =
  MethodPart<C, M, "params"> extends StandardSchemaV1
    ? StandardSchemaV1.InferInput<MethodPart<C, M, "params">>
    : unknown;
/** What the method's implementation gets: the params schema's output. */
export type ContractMethodParams<C, M> =
  MethodPart<C, M, "params"> extends StandardSchemaV1
    ? StandardSchemaV1.InferOutput<MethodPart<C, M, "params">>
    : unknown;
/**
 * What the method returns: the result schema's input. A result is checked (in development),
 * never transformed, so the wire carries what the method returned, and its caller receives
 * `Jsonified<ContractCallResult<C, M>>` (its JSON round trip).
 */
export type ContractCallResult<C, M> =
  MethodPart<C, M, "result"> extends StandardSchemaV1
    ? StandardSchemaV1.InferInput<MethodPart<C, M, "result">>
    : unknown;
