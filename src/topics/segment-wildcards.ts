/*
 * Topic patterns matched in linear-ish time, without a RegExp. Compiled to a RegExp (each `*`
 * as `[^:]+`), a segment with several `*`s, such as `doc:*-*-*-*`, backtracks through every
 * split of a long client-chosen topic (O(n^k) for k stars): seconds of blocked event loop.
 *
 * Here a `*` stands for one or more characters other than `:`, so the topic's `:`s are exactly
 * the pattern's: both are cut at `:` and matched segment by segment. Within a segment, each
 * literal between `*`s is found at its leftmost place after the previous one (leaving the most
 * room to what follows, so no other place needs trying): O(segment × pattern) at worst.
 */

/** A pattern cut at its `:`s, each segment cut at its `*`s into the literals between them. */
export type SegmentWildcards = readonly (readonly string[])[];

export function segmentWildcards(pattern: string): SegmentWildcards {
  return pattern.split(":").map((segment) => segment.split("*"));
}

/** True when the topic, cut at its `:`s (`topic.split(":")`), matches the pattern. */
export function matchesSegments(
  pattern: SegmentWildcards,
  topicSegments: readonly string[],
): boolean {
  if (pattern.length !== topicSegments.length) return false;
  return pattern.every((literals, index) => segmentMatches(literals, topicSegments[index] ?? ""));
}

/** One segment (no `:`) against the literals of a segment pattern, a `*` between each two. */
function segmentMatches(literals: readonly string[], segment: string): boolean {
  const first = literals[0] ?? "";
  if (literals.length === 1) return segment === first;
  const last = literals.at(-1) ?? "";
  if (!segment.startsWith(first) || !segment.endsWith(last)) return false;
  const end = segment.length - last.length;
  let at = first.length;
  for (const literal of literals.slice(1, -1)) {
    const found = segment.indexOf(literal, at + 1); // the `*` before it takes 1+ characters
    if (found === -1) return false;
    at = found + literal.length;
  }
  return at < end; // and so does the last `*`, before the last literal
}
