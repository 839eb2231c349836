import { TopicPatterns } from "./topic-pattern.js";

/** Each list of patterns compiled once, for as long as the list itself lives. */
const compiled = new WeakMap<readonly string[], TopicPatterns<true>>();

/** A list of topic patterns (as app.realtime()'s lists take them) ready to match. */
export function patternList(patterns: readonly string[]): TopicPatterns<true> {
  let list = compiled.get(patterns);
  if (list === undefined) {
    list = new TopicPatterns<true>();
    for (const pattern of patterns) list.add(pattern, true);
    compiled.set(patterns, list);
  }
  return list;
}

/** True when one of `patterns` matches `topic` (a token's grants, say). */
export function matchesAnyPattern(patterns: readonly string[], topic: string): boolean {
  return patternList(patterns).match(topic) === true;
}
