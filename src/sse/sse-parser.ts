/** One dispatched event, as a client sees it. */
export interface SseMessage {
  /** The event type; "message" when the event named none. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The `id:` this event set, if it set one (the last event id persists: see `lastEventId`). */
  id: string | undefined;
  /** The `retry:` this event set, if it set a valid one. */
  retry: number | undefined;
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = 0xfeff;
const DIGITS = /^[0-9]+$/;

/**
 * An incremental event-stream parser that follows the WHATWG HTML "event stream
 * interpretation": `\r\n`, `\n` and `\r` line endings (also split across chunks), one leading
 * BOM, comments, fields without a space after the colon or without a colon at all, ids with
 * NUL ignored, non-numeric retry ignored, and blocks without data not dispatched.
 */
export class SseParser {
  /**
   * The id of the last complete block that set one, as EventSource would send it back in
   * `Last-Event-ID` (an id in a block the stream cut off does not count).
   */
  lastEventId = "";
  /** The last valid `retry:` value seen. */
  reconnectionTime: number | undefined;
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  private started = false;
  /** A line whose end has not arrived yet. */
  private partialLine = "";
  /** The previous chunk ended with CR: a LF at the start of the next one belongs to it. */
  private endedWithCR = false;
  private data = "";
  private eventType = "";
  /** The spec's "last event ID buffer": it becomes `lastEventId` only when a block ends. */
  private lastEventIdBuffer = "";
  private blockId: string | undefined;
  private blockRetry: number | undefined;

  /** Feeds bytes (decoded as a UTF-8 stream) or text; returns the events they completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    let text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: SseMessage[] = [];
    if (text.length === 0) return events;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    let lineStart = 0;
    if (this.endedWithCR && text.charCodeAt(0) === LF) lineStart = 1;
    this.endedWithCR = false;
    for (let i = lineStart; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code !== LF && code !== CR) continue;
      this.line(this.partialLine + text.slice(lineStart, i), events);
      this.partialLine = "";
      if (code === CR) {
        if (i + 1 === text.length) this.endedWithCR = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      lineStart = i + 1;
    }
    this.partialLine += text.slice(lineStart);
    return events;
  }

  private line(line: string, events: SseMessage[]): void {
    if (line === "") {
      this.dispatch(events);
      return;
    }
    if (line.charCodeAt(0) === 0x3a) return; // a comment
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data += `${value}\n`;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.lastEventIdBuffer = value;
          this.blockId = value;
        }
        break;
      case "retry":
        if (DIGITS.test(value)) {
          this.reconnectionTime = Number(value);
          this.blockRetry = this.reconnectionTime;
        }
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(events: SseMessage[]): void {
    const { data, eventType, blockId, blockRetry } = this;
    // Even a block without data sets it; a block cut off by the end of the stream does not.
    this.lastEventId = this.lastEventIdBuffer;
    this.data = "";
    this.eventType = "";
    this.blockId = undefined;
    this.blockRetry = undefined;
    if (data === "") return;
    events.push({
      event: eventType === "" ? "message" : eventType,
      data: data.slice(0, -1),
      id: blockId,
      retry: blockRetry,
    });
  }
}
