import { HttpError } from "../http/http-error.js";
import { checkTopic } from "../topics/topic-checks.js";

/** What `GET /topics/{topic}/{view}` reads of a topic. */
export type TopicView = "history" | "presence";

const VIEWS: ReadonlySet<string> = new Set<TopicView>(["history", "presence"]);

/**
 * The topic and view of a `GET /topics/*` path (`rest`: what follows `/topics/`, decoded):
 * the last segment names the view, every segment before it the topic, so a topic holding `/`
 * is written with its `/` as it is (`/topics/orders/eu/history` reads `orders/eu`); the
 * canonical path refuses `%2F` with a 400 before routing. Anything else is the 404 of a path
 * the hub has no route for, a topic that cannot be one (empty, too long) included.
 */
export function topicPath(rest: string, method: string): { topic: string; view: TopicView } {
  const slash = rest.lastIndexOf("/");
  const topic = rest.slice(0, Math.max(slash, 0));
  const view = rest.slice(slash + 1);
  if (slash <= 0 || !VIEWS.has(view) || !isTopicName(topic)) {
    throw new HttpError(404, `No route for ${method} /topics/${rest}`);
  }
  return { topic, view: view as TopicView };
}

function isTopicName(topic: string): boolean {
  try {
    checkTopic(topic);
    return true;
  } catch {
    return false;
  }
}
