import type { TopicGrants } from "../http/credentials.js";

/** Most patterns one list of a topics claim may hold, and the longest pattern. */
const MAX_PATTERNS = 1000;
const MAX_PATTERN_LENGTH = 1024;
const NONE: readonly string[] = Object.freeze([]);

/**
 * The topics a token's claim allows: `{ "subscribe": [patterns], "publish": [patterns] }`
 * (either list may be left out: nothing), or an array alone (subscribe only). Patterns are
 * those of `app.realtime()`'s `subscribe` and `publish` lists (`"chat:*"`). Undefined when
 * the claim is absent (the token allows no topic); a string saying what is wrong when it is
 * malformed.
 */
export function topicsOfClaim(claim: string, value: unknown): TopicGrants | string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const subscribe = patternsOf(claim, value);
    return typeof subscribe === "string" ? subscribe : { subscribe, publish: NONE };
  }
  if (value === null || typeof value !== "object") {
    return `The token's ${claim} claim must be an object { subscribe, publish } of topic pattern lists, or a list of patterns`;
  }
  const { subscribe = [], publish = [], ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    return `The token's ${claim} claim has ${JSON.stringify(unknown[0])}: only subscribe and publish are read`;
  }
  const allowedSubscribe = patternsOf(`${claim}.subscribe`, subscribe);
  if (typeof allowedSubscribe === "string") return allowedSubscribe;
  const allowedPublish = patternsOf(`${claim}.publish`, publish);
  if (typeof allowedPublish === "string") return allowedPublish;
  return { subscribe: allowedSubscribe, publish: allowedPublish };
}

function patternsOf(where: string, value: unknown): readonly string[] | string {
  if (!Array.isArray(value)) return `The token's ${where} claim must be a list of topic patterns`;
  if (value.length > MAX_PATTERNS) {
    return `The token's ${where} claim lists ${value.length} patterns, at most ${MAX_PATTERNS} are read`;
  }
  for (const pattern of value) {
    if (typeof pattern === "string" && pattern.length > MAX_PATTERN_LENGTH) {
      return `The token's ${where} claim holds a pattern longer than ${MAX_PATTERN_LENGTH} characters`;
    }
    if (typeof pattern !== "string" || pattern.length === 0 || pattern.includes("**")) {
      return `The token's ${where} claim holds ${JSON.stringify(pattern) ?? String(pattern)}, which is no topic pattern (a non-empty string such as "chat:*")`;
    }
  }
  return Object.freeze([...value]) as readonly string[];
}
