import { OutputValidationError } from "../http/validation-error.js";
import { runSchema, type SchemaOutcome } from "../util/run-schema.js";
import { isEventShaped } from "./event-shaped.js";
import { SseEvent } from "./sse-event.js";
import type { SseEventSchemas } from "./sse-event-schemas.js";

type Step = IteratorResult<unknown>;

/**
 * @internal A typed SSE route's events, checked before each is sent (when the App's
 * `validateOutput` is on): an event whose name the route did not declare, or whose data
 * fails its schema, rejects the pull with an OutputValidationError, so the stream ends there
 * (nothing of that event written) and the stream engine logs it once. The producer is told
 * to stop (its `finally` runs). Items go out as they were yielded, never transformed.
 */
export class CheckedEvents implements AsyncIterableIterator<unknown> {
  readonly #iterator: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #events: SseEventSchemas;
  readonly #onStep: (step: Step) => Step | Promise<Step>;

  constructor(source: AsyncIterable<unknown> | Iterable<unknown>, events: SseEventSchemas) {
    this.#iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<unknown>)[Symbol.iterator]();
    this.#events = events;
    this.#onStep = (step) => this.#check(step);
  }

  next(): Promise<Step> {
    let step: Step | Promise<Step>;
    try {
      step = this.#iterator.next();
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(step).then(this.#onStep);
  }

  /** The stream engine cancels the producer through this: its `finally` runs. */
  async return(value?: unknown): Promise<Step> {
    return (await this.#iterator.return?.(value)) ?? { done: true, value };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #check(step: Step): Step | Promise<Step> {
    if (step.done) return step;
    let checked: undefined | Promise<void>;
    try {
      checked = checkEvent(step.value, this.#events);
    } catch (error) {
      return this.#refused(error);
    }
    if (checked === undefined) return step;
    return checked.then(
      () => step,
      (error: unknown) => this.#refused(error),
    );
  }

  /** A refused pull ends the stream without the engine cancelling the producer: do it here. */
  #refused(error: unknown): never {
    this.return().catch(() => {});
    throw error;
  }
}

/** Undefined once the item passed; a promise for an async schema; throws when refused. */
function checkEvent(item: unknown, events: SseEventSchemas): undefined | Promise<void> {
  const { name, data } = eventOf(item);
  // An event with no data (a comment, an id or a retry alone) dispatches nothing to check.
  if (data === undefined) return undefined;
  const schema = events[name];
  if (schema === undefined) {
    const declared = Object.keys(events).join(", ") || "none";
    throw new OutputValidationError(`event "${name}"`, [
      {
        path: "",
        pointer: "",
        message: `"${name}" is not one of the route's events (declared: ${declared})`,
      },
    ]);
  }
  const outcome = runSchema(schema, data);
  if (outcome instanceof Promise) return outcome.then((settled) => passOrThrow(settled, name));
  passOrThrow(outcome, name);
  return undefined;
}

function passOrThrow(outcome: SchemaOutcome<unknown>, name: string): void {
  if (!outcome.ok)
    throw new OutputValidationError(`event "${name}"`, outcome.issues, outcome.total);
}

/** The event an item becomes (see encodeSseItem): data-only values are the `message` event. */
function eventOf(item: unknown): { name: string; data: unknown } {
  if (item instanceof SseEvent || isEventShaped(item)) {
    return { name: item.event ?? "message", data: item.data };
  }
  return { name: "message", data: item };
}
