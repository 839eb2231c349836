import { credentialsOf } from "../http/credentials.js";
import type { SluiceRequest } from "../http/request.js";
import { TopicPatterns } from "../topics/topic-pattern.js";

type AnyRequest = SluiceRequest<Record<string, string>, object>;

/**
 * Who may do what on the hub's topics: a topic the hub serves (its `topics` patterns) and,
 * for a client that brought a JWT, one its topics claim grants for that use. A topic outside
 * the hub's patterns is refused whatever a token says.
 */
export class HubAccess {
  readonly #served: TopicPatterns<true>;
  /** Each token's patterns, made once per claim (a refreshed token brings new ones). */
  readonly #granted = new WeakMap<readonly string[], TopicPatterns<true>>();

  constructor(served: readonly string[]) {
    this.#served = patternsOf(served);
  }

  /** True when the hub serves the topic at all. */
  serves(topic: string): boolean {
    return this.#served.match(topic) === true;
  }

  /** True when the hub serves the topic and the request's token grants it for `use`. */
  granted(topic: string, use: "subscribe" | "publish", request: AnyRequest): boolean {
    const grants = credentialsOf(request)?.topics?.[use];
    if (grants === undefined || !this.serves(topic)) return false;
    let patterns = this.#granted.get(grants);
    if (patterns === undefined) {
      patterns = patternsOf(grants);
      this.#granted.set(grants, patterns);
    }
    return patterns.match(topic) === true;
  }
}

function patternsOf(list: readonly string[]): TopicPatterns<true> {
  const patterns = new TopicPatterns<true>();
  for (const pattern of list) patterns.add(pattern, true);
  return patterns;
}
