/*
 * Topic patterns, as `app.topic()`, `app.realtime()`'s `subscribe`/`publish` lists and
 * contracts write them: a name matches itself; `*` stands for one or more characters other
 * than `:`, so `"chat:*"` matches `"chat:lobby"` but neither `"chat:"` nor `"chat:a:b"`.
 * Matched without a RegExp, which could backtrack for seconds (segment-wildcards.ts).
 */

import { matchesSegments, type SegmentWildcards, segmentWildcards } from "./segment-wildcards.js";

/** True when the pattern holds a `*` (it stands for many topics, not one). */
export function isWildcard(pattern: string): boolean {
  return pattern.includes("*");
}

/** True when `topic` is one of the names the pattern stands for. */
export function matchesTopicPattern(pattern: string, topic: string): boolean {
  return matchesSegments(segmentWildcards(pattern), topic.split(":"));
}

/**
 * True when `topic` would match the pattern (split at its `*`s into `literals`) if each `*`
 * stood for any characters, `:` and none included: what the pattern's template type covers.
 * A scan, not a RegExp of `.*`s, which could backtrack for long on a client's topic name.
 */
function spansLoosely(literals: readonly string[], topic: string): boolean {
  const first = literals[0] ?? "";
  const last = literals.at(-1) ?? "";
  const end = topic.length - last.length;
  if (end < first.length || !topic.startsWith(first) || !topic.endsWith(last)) return false;
  let at = first.length;
  for (const literal of literals.slice(1, -1)) {
    const found = topic.indexOf(literal, at);
    if (found === -1 || found + literal.length > end) return false;
    at = found + literal.length;
  }
  return true;
}

/** Names and patterns `app.topic()` takes: each `*` a whole segment between `:`s. */
const WHOLE_SEGMENT_PATTERN = /^(?:[^\s*:]+|\*)(?::(?:[^\s*:]+|\*))*$/;

/** A TypeError unless `pattern` is a topic name or a pattern whose `*`s are whole segments. */
export function checkDeclaredPattern(where: string, pattern: unknown): string {
  if (typeof pattern !== "string" || !WHOLE_SEGMENT_PATTERN.test(pattern)) {
    throw new TypeError(
      `${where}: ${JSON.stringify(pattern) ?? String(pattern)} is not a topic name or pattern ("dashboard", "chat:*": "*" stands for a whole segment between ":", no spaces)`,
    );
  }
  return pattern;
}

/**
 * Topic names and patterns, matched in one step: exact names through a Map, the patterns in
 * the order they were added.
 */
export class TopicPatterns<V> {
  readonly #exact = new Map<string, V>();
  readonly #wildcards: {
    readonly pattern: string;
    readonly segments: SegmentWildcards;
    readonly literals: readonly string[];
    readonly value: V;
  }[] = [];

  get size(): number {
    return this.#exact.size + this.#wildcards.length;
  }

  /** The value added under exactly this pattern (not one that matches it). */
  own(pattern: string): V | undefined {
    if (!isWildcard(pattern)) return this.#exact.get(pattern);
    return this.#wildcards.find((entry) => entry.pattern === pattern)?.value;
  }

  add(pattern: string, value: V): void {
    if (isWildcard(pattern)) {
      const literals = pattern.split("*");
      this.#wildcards.push({ pattern, segments: segmentWildcards(pattern), literals, value });
    } else this.#exact.set(pattern, value);
  }

  /** Removes what was added under exactly this pattern. */
  remove(pattern: string): void {
    if (!isWildcard(pattern)) this.#exact.delete(pattern);
    else {
      const index = this.#wildcards.findIndex((entry) => entry.pattern === pattern);
      if (index !== -1) this.#wildcards.splice(index, 1);
    }
  }

  /**
   * The first pattern that would match `topic` if its `*`s spanned `:` or stood for nothing
   * (what its template type covers): asked for a topic `match()` found nothing for.
   */
  looseMatch(topic: string): string | undefined {
    return this.#wildcards.find((entry) => spansLoosely(entry.literals, topic))?.pattern;
  }

  /** The value of the topic's own name first, else of the first pattern added that matches it. */
  match(topic: string): V | undefined {
    const exact = this.#exact.get(topic);
    if (exact !== undefined) return exact;
    if (this.#wildcards.length === 0) return undefined;
    const segments = topic.split(":");
    for (const entry of this.#wildcards)
      if (matchesSegments(entry.segments, segments)) return entry.value;
    return undefined;
  }
}
