/** One event of an SSE stream (the WHATWG "event stream interpretation"). */
export interface SseMessage {
  /** The event type; `"message"` when the stream named none. */
  event: string;
  data: string;
  /** The last event id seen on the stream (ids persist until changed), `""` when none. */
  id: string;
  /** The reconnection time the stream last asked for with `retry:`, in ms. */
  retry: number | undefined;
}

/**
 * A streaming parser of text/event-stream, fed decoded text in chunks of any size: lines end
 * with CRLF, LF or CR (a CR at a chunk's end may be half of a CRLF), `:` starts a comment,
 * `data:` lines join with LF, an `id` holding NUL is ignored, `retry` takes digits only, and
 * an event is dispatched by a blank line (an unfinished one at the end of the stream is not).
 * The BOM is the decoder's business: TextDecoder drops it.
 */
export class SseParser {
  #partial = "";
  #skipLeadingLf = false;
  #data: string[] = [];
  #event = "";
  /** The spec's "last event ID buffer": an `id:` line sets it at once... */
  #id: string;
  /** ...and it becomes the last event id only when its block ends (a cut block sets nothing). */
  #lastEventId: string;
  #retry: number | undefined;

  /** `lastEventId`: where an earlier stream stopped, so that its events carry it until changed. */
  constructor(lastEventId = "") {
    this.#id = this.#lastEventId = lastEventId;
  }

  get lastEventId(): string {
    return this.#lastEventId;
  }

  get retry(): number | undefined {
    return this.#retry;
  }

  /** Parses `chunk`, returning the events it completed. */
  push(chunk: string): SseMessage[] {
    // An empty chunk (a decoder holding half a character) says nothing about a CRLF split.
    if (chunk !== "") {
      if (this.#skipLeadingLf && chunk.startsWith("\n")) chunk = chunk.slice(1);
      this.#skipLeadingLf = false;
    }
    const text = this.#partial + chunk;
    const events: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const char = text.charCodeAt(i);
      if (char !== 10 && char !== 13) continue;
      this.#line(text.slice(start, i), events);
      if (char === 13) {
        if (i + 1 === text.length) this.#skipLeadingLf = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#partial = text.slice(start);
    return events;
  }

  #line(line: string, events: SseMessage[]): void {
    if (line === "") {
      this.#dispatch(events);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id") {
      if (!value.includes("\0")) this.#id = value;
    } else if (field === "retry" && /^\d+$/.test(value)) this.#retry = Number(value);
  }

  #dispatch(events: SseMessage[]): void {
    const event = this.#event;
    this.#event = "";
    // Also for a block without data: the protocol's opening id-only block sets the resume point.
    this.#lastEventId = this.#id;
    if (this.#data.length === 0) return;
    const data = this.#data.join("\n");
    this.#data = [];
    events.push({ event: event || "message", data, id: this.#lastEventId, retry: this.#retry });
  }
}
