import { checkDedupeKey } from "../topics/dedupe-key.js";
import { checkPublishedEvent, describe } from "../topics/topic-checks.js";
import { HubProblem } from "./hub-problem.js";

/** One message to publish, as a publisher sent it; its topic is the TopicGate's to check. */
export interface PublishMessage {
  readonly topic: unknown;
  readonly data: unknown;
  readonly event: string | undefined;
  readonly store: boolean | undefined;
  readonly dedupeKey: string | undefined;
}

const MEMBERS = new Set(["topic", "data", "event", "store", "dedupeKey"]);

/**
 * Checks a message's members but its topic: `data` is required (any JSON value, null
 * included), `event` a publishable event type, `store` a boolean, `dedupeKey` a key of at
 * most 200 characters, and no other member (a misspelt `evnt` would be lost silently). A
 * refusal is a 422; in a batch `at` names the message (`messages[2].`) and `extensions` its
 * `index`.
 */
export function checkMessage(
  members: unknown,
  at = "",
  extensions: Record<string, unknown> = {},
): PublishMessage {
  const refuse = (detail: string) => new HubProblem(422, `${at}${detail}`, extensions);
  if (members === null || typeof members !== "object" || Array.isArray(members)) {
    throw new HubProblem(
      422,
      `${at === "" ? "A message" : at.slice(0, -1)} must be an object { topic, data, event?, store?, dedupeKey? }, got ${describe(members)}`,
      extensions,
    );
  }
  const message = members as Record<string, unknown>;
  const unknown = Object.keys(message).find((name) => !MEMBERS.has(name));
  if (unknown !== undefined) {
    throw refuse(
      `${unknown} is not a member of a message: it has topic, data, event, store and dedupeKey`,
    );
  }
  if (!Object.hasOwn(message, "data")) {
    throw refuse("data is required: the message's JSON value (null included)");
  }
  const { topic, data, event, store, dedupeKey } = message;
  if (store !== undefined && typeof store !== "boolean") {
    throw refuse(`store must be true or false, got ${describe(store)}`);
  }
  let checkedEvent: string | undefined;
  try {
    checkedEvent = checkPublishedEvent(event);
  } catch (error) {
    throw refuse(`event: ${(error as Error).message}`);
  }
  try {
    checkDedupeKey(dedupeKey, "dedupeKey");
  } catch (error) {
    throw refuse((error as Error).message);
  }
  return { topic, data, event: checkedEvent, store, dedupeKey: dedupeKey as string | undefined };
}
