import { openSource, type SourceIterator } from "../http/stream-source.js";
import type { StreamSource } from "../http/streaming-response.js";
import { OutputValidationError } from "../http/validation-error.js";
import { isPromiseLike } from "../util/is-promise-like.js";
import { runSchema, type SchemaOutcome } from "../util/run-schema.js";
import { isEventShaped } from "./event-shaped.js";
import { SseEvent } from "./sse-event.js";
import type { SseEventSchemas } from "./sse-event-schemas.js";

type Step = IteratorResult<unknown>;

const DONE: Step = { done: true, value: undefined };

/**
 * @internal A typed SSE route's events, checked before each is sent (when the App's
 * `validateOutput` is on): an event whose name the route did not declare, or whose data
 * fails its schema, fails the pull with an OutputValidationError, so the stream ends there
 * (nothing of that event written) and the stream engine logs it once. The producer is told
 * to stop (its `finally` runs). Items go out as they were yielded, never transformed.
 *
 * The source is opened as the stream engine opens any other, so it is stopped the same way:
 * a Readable destroyed and a web stream cancelled, even while a read is pending, a generator
 * returned. An item of a sync source that passes a sync check is handed out as it is, no
 * promise made for it; only an async source or an async schema makes one.
 */
export class CheckedEvents {
  readonly #source: SourceIterator<unknown>;
  readonly #events: SseEventSchemas;
  readonly #onStep: (step: Step) => Step | Promise<Step>;

  constructor(source: StreamSource<unknown>, events: SseEventSchemas) {
    this.#source = openSource(source);
    this.#events = events;
    this.#onStep = (step) => this.#check(step);
  }

  /** The next item, checked; what the source throws is thrown (or rejected with) as it is. */
  next(): Step | Promise<Step> {
    const source = this.#source;
    if (source.sync) return this.#check(source.iterator.next());
    const pending: Step | PromiseLike<Step> = source.iterator.next();
    return isPromiseLike(pending)
      ? Promise.resolve(pending).then(this.#onStep)
      : this.#check(pending);
  }

  /** The stream engine stops the producer through this: see SourceIterator's cancel(). */
  async return(): Promise<Step> {
    await this.#source.cancel();
    return DONE;
  }

  /** For the stream engine and `for await`, which take a plain result as a resolved one. */
  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return this as AsyncIterator<unknown>;
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
    this.#source.cancel().catch(ignore);
    throw error;
  }
}

function ignore(): void {}

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
