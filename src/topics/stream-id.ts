/**
 * Stream ids, `<ms>-<seq>`, both parts unsigned 64-bit integers: Redis Streams make them, and
 * the memory broker uses the same shape (each topic log's creation time in microseconds, then a per-log counter), so both
 * order the same way. They are compared as
 * digit strings (no leading zeros: longer is larger, then character by character), so a
 * sequence beyond 2^53 orders exactly, without BigInt allocations on the delivery path.
 */

const MAX_PART = "18446744073709551615"; // 2^64 - 1

/** The largest id: nothing comes after it. */
export const MAX_STREAM_ID = `${MAX_PART}-${MAX_PART}`;

/** The id's two parts as digit strings without leading zeros, or undefined when it is not one. */
export function streamIdParts(id: string): [string, string] | undefined {
  const dash = id.indexOf("-");
  if (dash <= 0 || dash === id.length - 1) return undefined;
  const ms = digits(id, 0, dash);
  const seq = digits(id, dash + 1, id.length);
  return ms === undefined || seq === undefined ? undefined : [ms, seq];
}

/** id[start, end) when it is all decimal digits and fits 64 bits, stripped of leading zeros. */
function digits(id: string, start: number, end: number): string | undefined {
  let first = start;
  for (let i = start; i < end; i++) {
    const code = id.charCodeAt(i);
    if (code < 48 || code > 57) return undefined;
    if (first === i && code === 48 && i < end - 1) first++;
  }
  const part = id.slice(first, end);
  if (part.length > MAX_PART.length || (part.length === MAX_PART.length && part > MAX_PART)) {
    return undefined;
  }
  return part;
}

function compareParts(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True for a complete stream id that Redis accepts (`<ms>-<seq>`, each within 64 bits). */
export function isStreamId(id: unknown): id is string {
  return typeof id === "string" && streamIdParts(id) !== undefined;
}

/**
 * Negative when `a` comes before `b`, 0 when they are the same id, positive after. Strings that
 * are not stream ids sort before every id (and equal to each other), as the memory broker does.
 */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const left = streamIdParts(a);
  const right = streamIdParts(b);
  if (!left || !right) return left ? 1 : right ? -1 : 0;
  return compareParts(left[0], right[0]) || compareParts(left[1], right[1]);
}
