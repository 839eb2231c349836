import { credentialsOf, type TopicGrants } from "../http/credentials.js";
import { matchesAnyPattern } from "../topics/pattern-list.js";
import { TopicPatterns } from "../topics/topic-pattern.js";
import type { RealtimeContext } from "./realtime-context.js";

/**
 * Decides whether the client may subscribe to a topic: true lets it, anything else refuses
 * (`forbidden`). A thrown HttpError refuses with its message and the code of its status.
 */
export type SubscribeRule<State extends object = Record<string, unknown>> = (
  topic: string,
  ctx: RealtimeContext<State>,
) => boolean | Promise<boolean>;

/**
 * Decides whether the client may publish `data` to a topic: true lets it. It runs after the
 * topic's schema (when it has one), on its output: with a contract, `Data` is the output of
 * one of its topics (the only ones its clients may publish to).
 */
export type PublishRule<State extends object = Record<string, unknown>, Data = unknown> = (
  topic: string,
  data: Data,
  ctx: RealtimeContext<State>,
) => boolean | Promise<boolean>;

/** A rule as the session runs it: the data is undefined for a subscribe. */
export type AccessCheck = (
  topic: string,
  data: unknown,
  ctx: RealtimeContext<object>,
) => boolean | Promise<boolean>;

/**
 * What the client's credentials allow, when the option is absent: the topics its token lists
 * (jwtAuth's `topicsClaim`), read at each request, so a refreshed token's apply to the next.
 * Nothing when they list none.
 */
function allowedByToken(kind: "subscribe" | "publish"): AccessCheck {
  return (topic, _data, ctx) => {
    const grants: TopicGrants | undefined = credentialsOf(ctx.request)?.topics;
    if (grants === undefined) return false;
    return matchesAnyPattern(grants[kind], topic);
  };
}

/**
 * The `subscribe` or `publish` option as one check. Patterns: a topic name matches itself;
 * `*` stands for one or more characters other than `:`, so `"chat:*"` matches `"chat:lobby"`
 * but neither `"chat:"` nor `"chat:a:b"`, and `"*:admin"` matches `"eu:admin"`. A list allows
 * a topic one of its patterns matches. Absent: what the client's token lists in jwtAuth's
 * `topicsClaim`, with the same patterns; without such a claim, nothing is allowed.
 */
export function accessCheck(
  option: string,
  value: unknown,
  kind: "subscribe" | "publish",
): AccessCheck {
  if (value === undefined) return allowedByToken(kind);
  if (typeof value === "function") {
    if (kind === "subscribe") {
      const rule = value as SubscribeRule<object>;
      return (topic, _data, ctx) => rule(topic, ctx);
    }
    return value as AccessCheck;
  }
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${option} must be a list of topic patterns (["chat:*", "dashboard"]) or a function, got ${typeof value}`,
    );
  }
  const allowed = new TopicPatterns<true>();
  for (const pattern of value) {
    checkPattern(option, pattern);
    allowed.add(pattern, true);
  }
  return (topic) => allowed.match(topic) === true;
}

function checkPattern(option: string, pattern: unknown): asserts pattern is string {
  if (typeof pattern !== "string" || pattern.length === 0) {
    throw new TypeError(
      `${option} patterns must be non-empty strings, got ${JSON.stringify(pattern)}`,
    );
  }
  if (pattern.includes("**")) {
    throw new TypeError(
      `${option} pattern ${JSON.stringify(pattern)}: "*" matches within one ":"-separated part and "**" means nothing more; for other rules pass a function (topic, ctx) => boolean`,
    );
  }
}
