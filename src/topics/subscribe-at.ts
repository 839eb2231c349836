import type { Broker } from "./broker.js";
import { attachFrom } from "./resume.js";
import type { TopicHub, TopicSink } from "./topic-hub.js";
import { TopicMessage } from "./topic-message.js";

/**
 * Not an id any log gives (not a stream id at all): replaying after it answers with a reset
 * whose head is the topic's newest id, on a broker without `head()`.
 */
const NO_LOG_ID = "sluice:head";

/** A subscription started at a known place: its sink (to detach) and where it starts. */
export interface AttachedAt {
  readonly sink: TopicSink;
  /** The id after which messages follow, or null when replayed messages come first. */
  readonly position: string | null;
}

/** The id of the topic's newest message (or its log's start): messages after it are new. */
export async function headOf(broker: Broker, topic: string): Promise<string> {
  if (broker.head) return broker.head(topic);
  const replay = await broker.replay(topic, NO_LOG_ID);
  if (replay.kind === "reset") return replay.head;
  // A broker that took the made-up id for one of its own: its newest message is the head.
  const newest = await broker.history(topic, { limit: 1 });
  return newest[0]?.id ?? replay.messages.at(-1)?.id ?? NO_LOG_ID;
}

/**
 * Subscribes `target` from the topic's newest id on. The head is read first and the
 * subscription then resumes after it, so whatever is published while it goes live is
 * replayed rather than lost, and nothing is given twice.
 */
export async function attachAtHead(
  hub: TopicHub,
  broker: Broker,
  topic: string,
  target: TopicSink,
): Promise<AttachedAt> {
  const head = await headOf(broker, topic);
  const sink = await attachFrom(hub, broker, topic, head, target);
  return { sink, position: head };
}

/** Where a subscription starts: after `lastEventId` (which wins), the latest `replay`, or live. */
export interface SubscribeStart {
  readonly lastEventId?: string;
  readonly replay?: number;
}

/**
 * Subscribes `target` from `start`: after `lastEventId` (replaying what followed it), else
 * with the latest `replay` retained messages first, else live from now on. Whichever way,
 * nothing published while it goes live is lost or given twice.
 */
export async function attachStarting(
  hub: TopicHub,
  broker: Broker,
  topic: string,
  start: SubscribeStart,
  target: TopicSink,
): Promise<TopicSink> {
  if (start.lastEventId !== undefined || start.replay === undefined) {
    return attachFrom(hub, broker, topic, start.lastEventId, target);
  }
  return (await attachLatest(hub, broker, topic, start.replay, target)).sink;
}

/**
 * Subscribes `target` with the latest `count` retained messages first, then live ones. The
 * head is read first (the position when the log is empty), the latest messages handed to the
 * target, then the subscription resumes after the last of them: atomically, as attachAtHead.
 */
export async function attachLatest(
  hub: TopicHub,
  broker: Broker,
  topic: string,
  count: number,
  target: TopicSink,
): Promise<AttachedAt> {
  const head = await headOf(broker, topic);
  const latest = (await broker.history(topic, { limit: count })).map(
    (stored) => new TopicMessage(stored),
  );
  const last = latest.at(-1);
  if (last === undefined) {
    const sink = await attachFrom(hub, broker, topic, head, target);
    return { sink, position: head };
  }
  if (target.receiveMissed) await target.receiveMissed(latest);
  else for (const message of latest) target.receive(message);
  const sink = await attachFrom(hub, broker, topic, last.id, target);
  return { sink, position: null };
}
