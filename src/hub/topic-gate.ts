import type { TopicGrants } from "../http/credentials.js";
import { matchesAnyPattern } from "../topics/pattern-list.js";
import { checkTopic } from "../topics/topic-checks.js";
import { HubProblem } from "./hub-problem.js";

/** What a publisher may touch: every topic of the hub (a publish key), or what its JWT grants. */
export type PublisherGrants = "every topic" | TopicGrants;

/**
 * Which topics a request may name: those the hub has (`options.topics`, else 404, whatever a
 * token says), and of them those the publisher's grants allow (else 403).
 */
export class TopicGate {
  constructor(private readonly hubTopics: readonly string[]) {}

  /**
   * Refuses a topic that is no valid name (422 in a body, 404 in a path), one the hub does
   * not have (404), or one `grants` do not allow for `kind` (403). `where` names it in a
   * batch (`messages[2].topic`).
   */
  check(
    topic: unknown,
    grants: PublisherGrants,
    kind: "publish" | "subscribe",
    where = "topic",
    extensions: Record<string, unknown> = {},
  ): string {
    const name = validTopic(topic, where, extensions);
    if (!matchesAnyPattern(this.hubTopics, name)) {
      throw new HubProblem(
        404,
        `Unknown topic ${JSON.stringify(name)}: this hub has no such topic (its --topics patterns do not match it)`,
        extensions,
      );
    }
    if (grants !== "every topic" && !matchesAnyPattern(grants[kind], name)) {
      const verb = kind === "publish" ? "publish to" : "read";
      throw new HubProblem(
        403,
        `The token does not allow to ${verb} ${JSON.stringify(name)}: no pattern of its ${kind} list matches it`,
        extensions,
      );
    }
    return name;
  }
}

function validTopic(topic: unknown, where: string, extensions: Record<string, unknown>): string {
  if (topic === undefined) {
    throw new HubProblem(422, `${where} is required: the topic's name, such as "news"`, extensions);
  }
  try {
    return checkTopic(topic);
  } catch (error) {
    throw new HubProblem(422, `${where}: ${(error as Error).message}`, extensions);
  }
}
