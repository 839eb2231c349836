import type { App } from "../app/app.js";
import { BrokerUnavailableError } from "../redis/errors.js";
import { HubProblem } from "./hub-problem.js";
import { checkMessage, type PublishMessage } from "./publish-message.js";
import type { PublisherGrants, TopicGate } from "./topic-gate.js";

/** Most messages one POST /publish/batch may hold. */
export const MAX_BATCH = 1000;

/** A message whose topic passed the gate. */
export interface CheckedMessage extends PublishMessage {
  readonly topic: string;
}

/**
 * Checks every message of a batch body `{ messages: [...] }` before any is published: its
 * shape (422), its topic (404, 403), each refusal naming the message's `index`.
 */
export function checkBatch(
  body: Record<string, unknown>,
  gate: TopicGate,
  grants: PublisherGrants,
): CheckedMessage[] {
  const unknown = Object.keys(body).find((name) => name !== "messages");
  if (unknown !== undefined) {
    throw new HubProblem(422, `${unknown} is not a member of a batch: it has messages only`);
  }
  const { messages } = body;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH) {
    throw new HubProblem(
      422,
      `messages must be a list of 1 to ${MAX_BATCH} messages, got ${Array.isArray(messages) ? `${messages.length}` : typeof messages}`,
    );
  }
  return messages.map((members, index) => {
    const at = { index };
    const message = checkMessage(members, `messages[${index}].`, at);
    const topic = gate.check(message.topic, grants, "publish", `messages[${index}].topic`, at);
    return { ...message, topic };
  });
}

/** Publishes one checked message: its stored id, "" when it was live-only. */
export function publishChecked(app: App, message: CheckedMessage): Promise<string> {
  const { topic, data, event, store, dedupeKey } = message;
  return app.publish(topic, data, { event, store, dedupeKey });
}

/**
 * Publishes a batch in order, one message after the other (a broker stores each message
 * atomically, but no broker stores messages of several topics as one). When one fails, none
 * after it is tried, and the problem says which were stored: a 503 (the broker is down, else a
 * 500) whose `ids` are those of messages 0 to `index` - 1, `index` the message that failed
 * (not stored; or, when the connection broke while it was in flight, perhaps stored: sent
 * again with the same `dedupeKey`, it is not stored twice).
 */
export async function publishBatch(
  app: App,
  messages: readonly CheckedMessage[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const [index, message] of messages.entries()) {
    try {
      ids.push(await publishChecked(app, message));
    } catch (error) {
      throw midwayFailure(error, index, ids);
    }
  }
  return ids;
}

function midwayFailure(error: unknown, index: number, ids: string[]): HubProblem {
  const stored =
    index === 0 ? "no message was stored" : `messages[0] to [${index - 1}] were stored (ids)`;
  const extensions = { index, ids };
  if (error instanceof BrokerUnavailableError) {
    return HubProblem.brokerDown(
      `The broker became unavailable at messages[${index}]: ${stored}, messages[${index}] and after were not (${error.message}); send those again, with the same dedupeKey to be safe`,
      extensions,
    );
  }
  return new HubProblem(
    500,
    `Publishing messages[${index}] failed: ${stored}, messages[${index}] and after were not; the hub's log has the cause under this requestId`,
    extensions,
    {},
    error,
  );
}
