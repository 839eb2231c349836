/**
 * Ids of the form `<milliseconds>-<sequence>`, as Redis Streams make them; the memory broker
 * uses the same shape (its start time, then a per-topic counter), so both order the same way.
 */
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

/** The two numbers of a stream id, or undefined when `id` is not one. */
export function parseStreamId(id: string): [bigint, bigint] | undefined {
  const match = STREAM_ID.exec(id);
  if (!match) return undefined;
  return [BigInt(match[1] as string), BigInt(match[2] as string)];
}

/** Negative when `a` comes first, 0 when equal; ids that do not parse sort first. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const left = parseStreamId(a);
  const right = parseStreamId(b);
  if (!left || !right) return left ? 1 : right ? -1 : 0;
  if (left[0] !== right[0]) return left[0] < right[0] ? -1 : 1;
  if (left[1] !== right[1]) return left[1] < right[1] ? -1 : 1;
  return 0;
}
