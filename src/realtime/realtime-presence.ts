import type { Broker } from "../topics/broker.js";
import type { BrokerPresence } from "../topics/broker-presence.js";
import { presenceInfoJson } from "../topics/presence-member.js";
import { presenceOf } from "../topics/presence-of.js";
import type { TopicMessage } from "../topics/topic-message.js";
import { logSafely } from "../util/logger.js";
import { WebSocketMessage } from "../websocket/websocket-message.js";
import type { RealtimeContext } from "./realtime-context.js";
import { errorBodyOf, isAnswer, ReplyError } from "./reply-error.js";

/**
 * Decides the info a client joins a topic's presence with (see RealtimeOptions.presence):
 * any JSON value, `offered` to trust the client's own, or `undefined` to refuse the
 * subscribe with `forbidden`.
 */
export type PresenceRule<State extends object = Record<string, unknown>> = (
  ctx: RealtimeContext<State>,
  topic: string,
  offered: unknown,
) => unknown;

/** Checks the `presence` option of `app.realtime()`. */
export function presenceRuleOf(where: string, rule: unknown): PresenceRule<object> | undefined {
  if (rule === undefined || typeof rule === "function") return rule as PresenceRule<object>;
  throw new TypeError(
    `${where}: presence must be a function (ctx, topic, offered) => info, got ${typeof rule}`,
  );
}

/** How a subscribe joins: the store, and the info's JSON the app decided. */
export interface PresenceJoin {
  readonly store: BrokerPresence;
  readonly infoJson: string;
}

/**
 * The join of a subscribe that asked for presence, with the info the endpoint's rule gave
 * (null without a rule: the client's offer is never published unless the app says so).
 * Throws a ReplyError: `forbidden` when the rule returns undefined or the broker keeps no
 * presence, `invalid` for info that is not JSON or too big.
 */
export async function presenceJoin(
  broker: Broker,
  rule: PresenceRule<object> | undefined,
  ctx: RealtimeContext<object>,
  topic: string,
  offered: unknown,
): Promise<PresenceJoin> {
  if (!broker.presence) {
    throw new ReplyError("forbidden", "This server keeps no presence (its broker has none)");
  }
  const info = rule ? await runRule(rule, ctx, topic, offered) : null;
  if (info === undefined) {
    throw new ReplyError(
      "forbidden",
      `Not allowed to join the presence of ${JSON.stringify(topic)}`,
    );
  }
  try {
    return {
      store: presenceOf(broker, "presence"),
      infoJson: presenceInfoJson(info, "presence info"),
    };
  } catch (error) {
    throw new ReplyError("invalid", (error as Error).message);
  }
}

async function runRule(
  rule: PresenceRule<object>,
  ctx: RealtimeContext<object>,
  topic: string,
  offered: unknown,
): Promise<unknown> {
  try {
    return await rule(ctx, topic, offered);
  } catch (error) {
    if (isAnswer(error)) {
      const { code, message } = errorBodyOf(error, "");
      throw new ReplyError(code, message);
    }
    logSafely(ctx.request.log, "error", { err: error, topic }, "the realtime presence rule failed");
    throw new ReplyError("internal", "The presence rule failed");
  }
}

/** Each presence event's frame, made once and shared by every subscriber that asked. */
const frames = new WeakMap<TopicMessage, WebSocketMessage>();

/** A presence event as the protocol's `{"type":"join"|"leave","topic","member"}` frame. */
export function presenceEventFrame(
  message: TopicMessage,
  type: "join" | "leave",
): WebSocketMessage {
  let frame = frames.get(message);
  if (!frame) {
    frame = WebSocketMessage.text(
      `{"type":"${type}","topic":${JSON.stringify(message.topic)},"member":${JSON.stringify(message.data)}}`,
    );
    frames.set(message, frame);
  }
  return frame;
}
