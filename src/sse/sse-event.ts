import { commentLines, dataLines } from "./sse-lines.js";

/**
 * What `new SseEvent()` takes. `Name` and `Data` type the event on a route that declared its
 * events' schemas (`app.sse(path, { events }, handler)`); they default to any name and data.
 */
export interface SseEventInit<Name extends string = string, Data = unknown> {
  /** A string is sent as is (newlines become several `data:` lines); anything else as JSON. */
  data?: Data;
  /** Sets the client's last event id (sent back as `Last-Event-ID` when it reconnects). */
  id?: string | number;
  /** The event type; the client dispatches it to listeners of that name (default "message"). */
  event?: Name;
  /** How long the client waits before reconnecting, in milliseconds. */
  retry?: number;
  /** A comment: ignored by clients, useful for debugging and keep-alives. */
  comment?: string;
}

/**
 * One Server-Sent Event, validated and encoded when it is created (WHATWG HTML, "Server-sent
 * events"): a field value that would inject other fields throws a TypeError before anything is
 * written. The encoded frame is kept, so an event sent to many clients is serialised once.
 */
export class SseEvent<Name extends string = string, Data = unknown> {
  readonly data: Data;
  readonly id: string | undefined;
  readonly event: Name | undefined;
  readonly retry: number | undefined;
  readonly comment: string | undefined;
  /** The event on the wire, ending with the blank line that dispatches it. */
  readonly frame: string;
  private encoded: Buffer | undefined;

  constructor(init: SseEventInit<Name, Data>) {
    if (init === null || typeof init !== "object") {
      throw new TypeError(
        "new SseEvent() takes an object: { data?, id?, event?, retry?, comment? }",
      );
    }
    this.id = checkId(init.id);
    this.event = checkEventName(init.event) as Name | undefined;
    this.retry = checkRetry(init.retry);
    this.comment = checkComment(init.comment);
    const data = init.data;
    if (data instanceof SerialisedData) {
      this.data = data.value as Data;
      // A string is sent as itself, not as its JSON; anything else as the JSON text given.
      this.frame = encodeFrame(this, typeof data.value === "string" ? data.value : data.json);
    } else {
      this.data = data as Data;
      this.frame = encodeFrame(this, data);
    }
  }

  /** The frame as UTF-8 bytes, encoded on first use and then shared by every client. */
  get bytes(): Buffer {
    this.encoded ??= Buffer.from(this.frame, "utf8");
    return this.encoded;
  }
}

/**
 * A value handed over with the JSON text it was already serialised to, so the event sends that
 * text instead of stringifying the value again. Only sseEventOfJson() makes one.
 */
class SerialisedData {
  constructor(
    readonly value: unknown,
    readonly json: string,
  ) {}
}

/**
 * @internal An SseEvent whose data is already serialised: `json` must be the JSON text of
 * `value` (a topic message's, as its broker keeps it). Unless the value is a string (sent as
 * itself, like any string data), that text becomes the data line as it is, so a message fanned
 * out to many clients is never stringified again. JSON.stringify never writes a raw CR or LF
 * (it escapes them), but text from elsewhere might: such text goes through the same line
 * splitting as a string, so it cannot inject a field either.
 */
export function sseEventOfJson(
  fields: { id?: string; event?: string },
  value: unknown,
  json: string,
): SseEvent {
  return new SseEvent({
    id: fields.id,
    event: fields.event,
    data: new SerialisedData(value, json),
  });
}

/** `data` is the data's wire text (a string, sent as is) or a value (sent as JSON). */
function encodeFrame(event: SseEvent<string, unknown>, data: unknown): string {
  let frame = event.comment === undefined ? "" : commentLines(event.comment);
  if (event.event !== undefined) frame += `event: ${event.event}\n`;
  if (event.id !== undefined) frame += event.id === "" ? "id\n" : `id: ${event.id}\n`;
  if (event.retry !== undefined) frame += `retry: ${event.retry}\n`;
  if (data !== undefined) frame += dataLines(data);
  if (frame === "") {
    throw new TypeError("An SseEvent needs at least one of data, id, event, retry or comment");
  }
  return `${frame}\n`;
}

function checkId(id: unknown): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id === "number") {
    if (!Number.isFinite(id)) throw new TypeError(`SseEvent id must be a finite number, got ${id}`);
    return String(id);
  }
  if (typeof id !== "string") {
    throw new TypeError(`SseEvent id must be a string or a number, got ${typeof id}`);
  }
  if (/[\r\n\0]/.test(id)) {
    throw new TypeError(
      `SseEvent id must not contain CR, LF or NUL (it would inject fields or be ignored): ${JSON.stringify(id)}`,
    );
  }
  return id;
}

function checkEventName(event: unknown): string | undefined {
  if (event === undefined) return undefined;
  if (typeof event !== "string") {
    throw new TypeError(`SseEvent event must be a string, got ${typeof event}`);
  }
  if (/[\r\n]/.test(event)) {
    throw new TypeError(
      `SseEvent event must not contain CR or LF (it would inject fields): ${JSON.stringify(event)}`,
    );
  }
  return event;
}

/** A valid `retry:` value: a whole, non-negative number of milliseconds. */
export function isReconnectDelay(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkRetry(retry: unknown): number | undefined {
  if (retry === undefined) return undefined;
  if (!isReconnectDelay(retry)) {
    throw new TypeError(
      `SseEvent retry must be a non-negative integer number of milliseconds, got ${String(retry)}`,
    );
  }
  return retry;
}

function checkComment(comment: unknown): string | undefined {
  if (comment === undefined) return undefined;
  if (typeof comment !== "string") {
    throw new TypeError(`SseEvent comment must be a string, got ${typeof comment}`);
  }
  return comment;
}
