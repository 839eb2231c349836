import { type LatencyRecorder, now, readStamp } from "./latency.js";

const LF = 0x0a;
const COLON = 0x3a;
const R = 0x72;

/**
 * Counts Server-Sent Events in a chunked response body as its bytes arrive, without keeping
 * them: chunk-size lines and the CRLF after each chunk are skipped, and every blank line that
 * ends an event ("\n\n", LF line ends as every server sends) is counted in the payload, also
 * when it straddles two reads or two chunks; keep-alive comments and `retry:` lines are not.
 */
export class ChunkedEventCounter {
  events = 0;
  /** The last chunk (size 0) arrived: the server ended the stream. */
  ended = false;
  private state: "size" | "size-line" | "payload" | "payload-end" = "size";
  private size = 0;
  private remaining = 0;
  /** The payload's last byte so far was a LF that did not end an event. */
  private pendingLf = false;
  /** The next payload byte starts an event. */
  private atEventStart = true;
  /** Where the event being read began in the current read, or -1 (an earlier read). */
  private eventStart = -1;
  private receivedAt = 0;
  /** The first byte of the block being read, or -1 before it arrived. */
  private firstByte = -1;

  /** Records each event's latency from the publish time it carries (when its bytes came in one read). */
  constructor(private readonly latency?: LatencyRecorder) {}

  /** Reads `bytes` up to `length` (the part of a reused buffer that was filled). */
  push(bytes: Buffer, length = bytes.length): void {
    this.eventStart = -1;
    if (this.latency?.recording) this.receivedAt = now();
    let at = 0;
    while (at < length && !this.ended) {
      at =
        this.state === "payload"
          ? this.countEvents(bytes, at, length)
          : this.skipFraming(bytes, at, length);
    }
  }

  /** Counts the events ending in this chunk's payload from `start`; returns where it stopped. */
  private countEvents(bytes: Buffer, start: number, length: number): number {
    const end = Math.min(length, start + this.remaining);
    // A plain loop: a few dozen bytes per event, and indexOf() would search past `end`.
    let lf = this.pendingLf;
    if (this.atEventStart) this.eventStart = start;
    this.atEventStart = false;
    for (let at = start; at < end; at++) {
      const byte = bytes[at];
      if (this.firstByte === -1) this.firstByte = byte;
      if (byte !== LF) lf = false;
      else if (lf) {
        this.eventEnded(bytes, at);
        lf = false;
      } else lf = true;
    }
    this.atEventStart = this.eventStart === end; // the last event ended with this payload
    this.pendingLf = lf;
    this.remaining -= end - start;
    if (this.remaining === 0) this.state = "payload-end";
    return end;
  }

  /**
   * A blank line ended a block at `at`: an event is counted (and its latency recorded) unless
   * the block was a comment (a keep-alive) or a `retry:` line, which no server under test
   * sends together with data. The next block starts after it.
   */
  private eventEnded(bytes: Buffer, at: number): void {
    if (this.firstByte !== COLON && this.firstByte !== R) {
      this.events++;
      if (this.eventStart !== -1 && this.latency?.recording) {
        this.latency.record(this.receivedAt - readStamp(bytes, this.eventStart, at));
      }
    }
    this.eventStart = at + 1;
    this.firstByte = -1;
  }

  /** Reads a chunk-size line (hex digits, maybe extensions, CRLF) or the CRLF after a payload. */
  private skipFraming(bytes: Buffer, start: number, length: number): number {
    for (let at = start; at < length; at++) {
      const byte = bytes[at];
      if (byte === LF) {
        this.endLine();
        return at + 1;
      }
      if (this.state !== "size") continue;
      const digit = hexDigit(byte);
      if (digit === -1) this.state = "size-line";
      else this.size = this.size * 16 + digit;
    }
    return length;
  }

  private endLine(): void {
    if (this.state === "payload-end") {
      this.state = "size";
      return;
    }
    if (this.size === 0) this.ended = true;
    this.remaining = this.size;
    this.size = 0;
    this.state = "payload";
  }
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
