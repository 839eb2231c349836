import type { Broker } from "./broker.js";
import { isLiveOnlyMessage } from "./live-only.js";
import type { TopicHub, TopicSink } from "./topic-hub.js";
import { TopicMessage } from "./topic-message.js";

/**
 * Subscribes `target` to a topic, first giving it what it missed since `lastEventId`. It goes
 * live before it asks the log, holding live messages back meanwhile; then it delivers the
 * missed ones and, of those held, only the ones after the last delivered: no message is
 * missing or repeated at the seam. Resolves the sink to detach later.
 */
export async function attachFrom(
  hub: TopicHub,
  broker: Broker,
  topic: string,
  lastEventId: string | undefined,
  target: TopicSink,
): Promise<TopicSink> {
  if (lastEventId === undefined) {
    await hub.attach(topic, target);
    return target;
  }
  const sink = new ResumingSink(target, broker);
  await hub.attach(topic, sink);
  try {
    const replay = await broker.replay(topic, lastEventId);
    // A reset to where the client already is says nothing was missed (Redis answers "0-0",
    // the head of a topic that has no log yet, with one): no reset then.
    if (replay.kind === "reset" && replay.head === lastEventId) {
      sink.resume([], lastEventId);
    } else if (replay.kind === "reset") {
      sink.resume(
        [TopicMessage.reset(topic, replay.head, replay.reason, lastEventId)],
        replay.head,
      );
    } else {
      const missed = replay.messages.map((stored) => new TopicMessage(stored));
      sink.resume(missed, missed.at(-1)?.id ?? lastEventId);
    }
  } catch (error) {
    hub.detach(topic, sink);
    throw error;
  }
  return sink;
}

/**
 * Holds live messages back until the missed ones are delivered. Live delivery and the log
 * may travel on different connections (Redis), so a live message the log already gave can
 * still arrive after the seam: until one newer than the cursor passes, older ones are dropped.
 */
class ResumingSink implements TopicSink {
  private held: TopicMessage[] | undefined = [];
  private cursor: string | undefined;

  constructor(
    private readonly target: TopicSink,
    private readonly broker: Broker,
  ) {}

  get clientId(): string | undefined {
    return this.target.clientId;
  }

  get joinLeave(): boolean | undefined {
    return this.target.joinLeave;
  }

  receive(message: TopicMessage): void {
    if (this.held) this.held.push(message);
    else this.pass(message);
  }

  end(): void {
    this.target.end?.();
  }

  /** Delivers `missed`, then the held messages that come after `cursor`, then goes live. */
  async resume(missed: TopicMessage[], cursor: string): Promise<void> {
    if (this.target.receiveMissed) await this.target.receiveMissed(missed);
    else for (const message of missed) this.target.receive(message);
    // Messages that came while the missed ones went out were held too.
    const held = this.held ?? [];
    this.held = undefined;
    this.cursor = cursor;
    for (const message of held) this.pass(message);
  }

  private pass(message: TopicMessage): void {
    // A live-only message is in no log, so never a repeat of a missed one: it moves no cursor.
    if (this.cursor !== undefined && !isLiveOnlyMessage(message)) {
      if (this.broker.compareIds(message.id, this.cursor) <= 0) return;
      this.cursor = undefined; // in order from here on
    }
    this.target.receive(message);
  }
}
