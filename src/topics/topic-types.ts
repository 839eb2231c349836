import type { TopicOfPattern } from "../protocol/contract.js";
import type { Jsonified } from "../protocol/jsonified.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";

/*
 * The App's declared topics as types: `app.topic("chat:*", { schema })` adds
 * `{ "chat:*": typeof schema }` to the App's second type parameter, and these read it. Types
 * only: TopicSchemas checks the same at run time.
 */

/** Topic names and patterns to their schemas: what `app.topic()` has declared. */
export type TopicSchemaMap = Readonly<Record<string, StandardSchemaV1>>;

/** An App that declared no topic. */
export type NoTopics = Record<never, never>;

/**
 * The schema of topic `T`: its own name's if declared, else those of the patterns it matches
 * (a union when several do; at run time the first declared wins). `never` when undeclared.
 */
export type DeclaredTopicSchema<Map, T extends string> = T extends keyof Map
  ? Map[T]
  : {
      [P in keyof Map & string]: T extends TopicOfPattern<P> ? Map[P] : never;
    }[keyof Map & string];

/** What `app.publish(topic, data)` takes: the schema's input, `unknown` when undeclared. */
export type TopicPublishData<Map, T extends string> = [DeclaredTopicSchema<Map, T>] extends [never]
  ? unknown
  : StandardSchemaV1.InferInput<DeclaredTopicSchema<Map, T> & StandardSchemaV1>;

/**
 * What subscribers of `T` get: the schema's output as stored, that is after its JSON round
 * trip (`Jsonified`: a `Date` output is received as a string); `unknown` when undeclared.
 */
export type TopicData<Map, T extends string> = [DeclaredTopicSchema<Map, T>] extends [never]
  ? unknown
  : Jsonified<StandardSchemaV1.InferOutput<DeclaredTopicSchema<Map, T> & StandardSchemaV1>>;

/**
 * The App's topics once `app.topic(Pattern, { schema: S })` added one. A name known only as
 * `string` (read from configuration) adds nothing: it would stand for every topic.
 */
export type WithTopic<
  Map,
  Pattern extends string,
  S extends StandardSchemaV1,
> = string extends Pattern ? Map : Map & { readonly [K in Pattern]: S };
