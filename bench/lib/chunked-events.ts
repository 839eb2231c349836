import { ChunkedBody } from "./chunked-body.js";
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
  private readonly body = new ChunkedBody((bytes, start, end) =>
    this.countEvents(bytes, start, end),
  );
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
    this.body.push(bytes, length);
  }

  /** The last chunk (size 0) arrived: the server ended the stream. */
  get ended(): boolean {
    return this.body.ended;
  }

  /** Counts the events ending in a run of payload bytes, `start` to `end`. */
  private countEvents(bytes: Buffer, start: number, end: number): void {
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
}
