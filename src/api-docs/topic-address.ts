import type { JsonSchema } from "./json-schema.js";

/** A topic name or pattern as an AsyncAPI channel address: `chat:*` is `chat:{segment1}`. */
export interface TopicAddress {
  readonly address: string;
  /** One per `*`, as AsyncAPI channel parameters. */
  readonly parameters: Record<string, { description: string }>;
}

const SEGMENT_DESCRIPTION =
  'One segment of the topic name: one or more characters other than ":" and whitespace.';

export function topicAddress(pattern: string): TopicAddress {
  const parameters: Record<string, { description: string }> = {};
  let wildcards = 0;
  const address = pattern
    .split(":")
    .map((segment) => {
      if (segment !== "*") return segment;
      const name = `segment${++wildcards}`;
      parameters[name] = { description: SEGMENT_DESCRIPTION };
      return `{${name}}`;
    })
    .join(":");
  return { address, parameters };
}

/** The JSON Schema of a topic name `pattern` stands for (in a real-time frame's `topic`). */
export function topicNameSchema(pattern: string): JsonSchema {
  if (!pattern.includes("*")) return { type: "string", const: pattern };
  const source = pattern
    .split(":")
    .map((segment) => (segment === "*" ? "[^\\s:]+" : escapeRegExp(segment)))
    .join(":");
  return { type: "string", pattern: `^${source}$` };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
