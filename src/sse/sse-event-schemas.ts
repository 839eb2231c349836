import type { HttpResponse } from "../http/http-response.js";
import type { StreamingResponse } from "../http/streaming-response.js";
import { checkSchema, type InferInput, type StandardSchemaV1 } from "../util/standard-schema.js";
import type { ReadyForHead } from "./head-after-ready.js";
import type { SseEvent } from "./sse-event.js";
import type { SseOptions } from "./sse-options.js";

/** An SSE route's events: each name to the schema of its data (`message`: data-only events). */
export type SseEventSchemas = Readonly<Record<string, StandardSchemaV1>>;

/** A typed SSE route's options: its SseOptions and the schemas of the events it sends. */
export interface SseSchemaOptions<Events extends SseEventSchemas> extends SseOptions {
  events: Events;
}

/**
 * An SSE route's options without `events`. The key is refused, so that options which
 * declare events (held in a variable, say) never match the untyped overload.
 */
export type PlainSseOptions = SseOptions & { events?: never };

/** A plain event object, as a handler may yield it: `{ event: "tick", data, id? }`. */
export interface SseEventObject<Name extends string, Data> {
  event: Name;
  data: Data;
  id?: string | number;
  retry?: number;
  comment?: string;
}

/** A data-only event with an id: `{ data, id }` (the `message` event). */
interface SseMessageObject<Data> {
  event?: undefined;
  data: Data;
  id: string | number;
  retry?: number;
  comment?: string;
}

/**
 * What the handler of a route with `events` may yield: for each declared name, an SseEvent or
 * a plain `{ event, data }` object whose data is that schema's input; when `message` is
 * declared, data-only values (and `{ data, id }`) of its input too.
 */
export type SseEventOf<Events extends SseEventSchemas> =
  | {
      [Name in keyof Events & string]:
        | SseEvent<Name, InferInput<Events[Name]>>
        | SseEventObject<Name, InferInput<Events[Name]>>;
    }[keyof Events & string]
  | ("message" extends keyof Events
      ? InferInput<Events["message"]> | SseMessageObject<InferInput<Events["message"]>>
      : never);

/**
 * What the handler of a route with `events` may return: its typed events, a topic
 * subscription (`app.subscribe()`, its events checked at run time only), or a response.
 */
export type SseSchemaHandlerResult<Events extends SseEventSchemas> =
  | AsyncIterable<SseEventOf<Events>>
  | Iterable<SseEventOf<Events>>
  | (AsyncIterable<SseEvent> & ReadyForHead)
  | HttpResponse
  | StreamingResponse
  | Response
  | undefined;

/**
 * @internal A route's `events`, checked when it is added: an object whose every value is a
 * Standard Schema (a TypeError names the one that is not). Undefined when none are declared.
 */
export function checkSseEvents(path: string, events: unknown): SseEventSchemas | undefined {
  if (events === undefined) return undefined;
  if (typeof events !== "object" || events === null || Array.isArray(events)) {
    throw new TypeError(
      `SSE route ${path}: events must be an object of event names to schemas, such as { tick: schema }`,
    );
  }
  // No prototype: an event named "toString" or "__proto__" is looked up as any other.
  const checked: Record<string, StandardSchemaV1> = Object.create(null);
  for (const [name, schema] of Object.entries(events)) {
    const where = `SSE route ${path}: events[${JSON.stringify(name)}]`;
    if (name === "" || /[\r\n]/.test(name)) {
      throw new TypeError(`${where}: an event name must be non-empty, without CR or LF`);
    }
    const checkedSchema = checkSchema(where, schema ?? null);
    if (checkedSchema) checked[name] = checkedSchema;
  }
  return Object.freeze(checked);
}
