import { credentialsOf } from "../http/credentials.js";
import type { SluiceRequest } from "../http/request.js";
import { matchesAnyPattern } from "../topics/pattern-list.js";

type AnyRequest = SluiceRequest<Record<string, string>, object>;

/**
 * Who may do what on the hub's topics: a topic the hub serves (its `topics` patterns) and,
 * for a client that brought a JWT, one its topics claim grants for that use. A topic outside
 * the hub's patterns is refused whatever a token says.
 */
export class HubAccess {
  constructor(private readonly served: readonly string[]) {}

  /** True when the hub serves the topic at all. */
  serves(topic: string): boolean {
    return matchesAnyPattern(this.served, topic);
  }

  /** True when the hub serves the topic and the request's token grants it for `use`. */
  granted(topic: string, use: "subscribe" | "publish", request: AnyRequest): boolean {
    const grants = credentialsOf(request)?.topics?.[use];
    if (grants === undefined || !this.serves(topic)) return false;
    return matchesAnyPattern(grants, topic);
  }
}
