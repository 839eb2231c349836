import type { TopicPatterns } from "../topics/topic-pattern.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { RealtimeEntry, SseRouteEntry } from "./catalog.js";
import type { JsonSchema } from "./json-schema.js";
import { realtimeTopics } from "./realtime-topics.js";
import type { SchemaComponents } from "./schema-components.js";

/**
 * The OpenAPI operation of an SSE route (or of a real-time endpoint's SSE side): a GET whose
 * 200 is `text/event-stream`. OpenAPI 3.1 has no way to type the events of a stream, so the
 * event names are listed in the description and their data schemas (the schemas' input: what
 * the handler yields, checked in development, never transformed) in `x-sluice-events`.
 */
export function sseOperation(
  entry: SseRouteEntry | RealtimeEntry,
  parameters: Record<string, unknown>[],
  components: SchemaComponents,
  /** The app's topic declarations, which type a real-time endpoint's topics. */
  declared: TopicPatterns<StandardSchemaV1>,
): Record<string, unknown> {
  const stream: Record<string, unknown> = { schema: { type: "string" } };
  let description: string;
  if (entry.kind === "sse") {
    const events = Object.entries(entry.events ?? {});
    description =
      events.length === 0
        ? "A stream of Server-Sent Events (the route declares no event schemas)."
        : `A stream of Server-Sent Events: ${events.map(([name]) => `"${name}"`).join(", ")}.`;
    if (events.length > 0) {
      stream["x-sluice-events"] = Object.fromEntries(
        events.map(([name, schema]) => [
          name,
          components.embed(schema, "input", `${entry.path} ${name} event`),
        ]),
      );
    }
  } else {
    const topics = realtimeTopics(entry, declared);
    description =
      "The messages of the topics asked for, as Server-Sent Events (each event's name is the one given at publish, its id the message's position). WebSocket clients connect to the same path with the subprotocol sluice.v1: see the AsyncAPI document.";
    stream["x-sluice-topics"] = Object.fromEntries(
      topics.map((topic) => [
        topic.pattern,
        topic.schema
          ? components.embed(topic.schema, "output", `${topic.pattern} topic`)
          : ({} as JsonSchema),
      ]),
    );
    parameters.push({
      name: "topic",
      in: "query",
      required: true,
      description: `The topics to follow, one parameter each${topics.length > 0 ? `: ${topics.map((t) => `"${t.pattern}"`).join(", ")} ("*" stands for one segment)` : ""}.`,
      schema: { type: "array", minItems: 1, items: { type: "string" } },
      style: "form",
      explode: true,
    });
  }
  const operation: Record<string, unknown> = {};
  if (parameters.length > 0) operation.parameters = parameters;
  operation.responses = {
    "200": { description, content: { "text/event-stream": stream } },
  };
  return operation;
}
