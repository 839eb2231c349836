import type { StreamChunk } from "../http/streaming-response.js";
import { SseEvent } from "./sse-event.js";

/**
 * For hand-made `text/event-stream` streams, whose producers write the wire format themselves:
 * strings and bytes go out as they are, SseEvents are encoded. It notes whether the last chunk
 * ended an event, so a keep-alive comment never lands inside one the producer is still writing.
 */
export function rawSseEncoder<T>(encode: ((item: T) => StreamChunk) | undefined): {
  encode: (item: T) => StreamChunk;
  atEventBoundary: () => boolean;
} {
  // The last few characters written: enough to see whether they end with a blank line.
  let tail = "\n\n";
  return {
    encode: (item) => {
      const chunk = encode ? encode(item) : rawChunk(item);
      if (chunk.length > 0) tail = (tail + lastChars(chunk, TAIL_LENGTH)).slice(-TAIL_LENGTH);
      return chunk;
    },
    atEventBoundary: () => endsWithBlankLine(tail),
  };
}

function rawChunk(item: unknown): StreamChunk {
  if (item instanceof SseEvent) return item.frame;
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(
    `A text/event-stream StreamingResponse yields SseEvents, strings or Uint8Arrays, got ${item === null ? "null" : typeof item}; use app.sse() to send plain values as data`,
  );
}

/** Long enough for the longest blank-line ending, `\r\n\r\n`. */
const TAIL_LENGTH = 4;

/** The last `count` characters of a chunk (bytes as Latin-1: only CR and LF matter here). */
function lastChars(chunk: StreamChunk, count: number): string {
  if (typeof chunk === "string") return chunk.slice(-count);
  return Buffer.from(chunk.subarray(Math.max(0, chunk.length - count))).toString("latin1");
}

/**
 * True when the text ends with the line ending of an empty line: the event before it is
 * complete. Endings are `\r\n`, `\n` or `\r`, in any mix (`\n\n`, `\r\r`, `\r\n\r\n`,
 * `\n\r\n` ...).
 */
function endsWithBlankLine(text: string): boolean {
  let end = text.length;
  if (text.endsWith("\r\n")) end -= 2;
  else if (text.endsWith("\n") || text.endsWith("\r")) end -= 1;
  else return false;
  const before = text.charCodeAt(end - 1);
  return before === 0x0a || before === 0x0d;
}
