import type { Redis } from "ioredis";
import type {
  Broker,
  BrokerPublishOptions,
  Deliver,
  HistoryQuery,
  Replay,
  StoredMessage,
} from "../topics/broker.js";
import { LIVE_ONLY_ID } from "../topics/broker.js";
import { checkDedupeKey } from "../topics/dedupe-key.js";
import { isLiveOnly } from "../topics/live-only.js";
import { compareStreamIds, isStreamId, MAX_STREAM_ID } from "../topics/stream-id.js";
import { brokerError, isUnavailable } from "./errors.js";
import { type Deliverer, LiveTopic } from "./live-topic.js";
import type { ResolvedOptions } from "./options.js";
import {
  decodeEntry,
  decodeWire,
  dedupeKeyOf,
  entryFields,
  PUBLISH_COMMAND,
  wireLines,
} from "./publish-script.js";
import { RecoveryCount } from "./recovery-count.js";
import {
  type CommandConnection,
  connect,
  DEFAULT_COMMAND_TIMEOUT,
  watchOutages,
  whenReady,
} from "./redis-connections.js";
import { RedisPresence } from "./redis-presence.js";
import { StreamExpiry } from "./stream-expiry.js";
import { headOf, type LogAfter, readAfter } from "./stream-log.js";

/** Between attempts to catch a topic up while the command connection is down. */
const CATCH_UP_RETRY_MS = 500;

/** The longest a replay waits for live delivery to reach what it read (see liveReached). */
const LIVE_REACH_TIMEOUT_MS = 1000;

/** Live messages held per topic while it catches up, at least (see LiveTopic). */
const MIN_HOLD = 1000;

function noop(): void {}

/**
 * The Broker on Redis, for many processes: a stream per topic is its log (XADD trimmed to
 * about `history`, XRANGE to read), and pub/sub delivers live. Two connections: one for
 * commands, one subscribed. Ids are the stream ids.
 *
 * Live delivery survives the subscriber connection's loss: each topic remembers the last id
 * it delivered; when the connection is back, the broker subscribes again, reads the log
 * after that id, delivers what was missed, then the live messages that came meanwhile,
 * dropping ids already delivered.
 */
export class RedisBroker implements Broker {
  private readonly commands: CommandConnection;
  private readonly subscriber: Redis;
  /** By stream key (which is also the channel). */
  private readonly topics = new Map<string, LiveTopic>();
  /** Counts the subscriber connection's closes: a SUBSCRIBE holds only within one epoch. */
  private subscriberEpoch = 0;
  private readonly timeout: number;
  /** The MAXLEN of every XADD, as the script takes it. */
  private readonly maxLen: string;
  /** The PX of every dedupe key, as the script takes it. */
  private readonly dedupeWindow: string;
  /** The streams' TTL: set by every publish, refreshed while this process subscribes. */
  private readonly expiry: StreamExpiry;
  private closed = false;
  private closing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  readonly presence: RedisPresence;
  readonly #recoveries = new RecoveryCount();

  constructor(private readonly options: ResolvedOptions) {
    this.timeout = options.redis.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT;
    this.maxLen = String(options.history);
    this.dedupeWindow = String(options.dedupeWindow);
    const isClosed = () => this.closed;
    this.commands = connect(options, "commands") as CommandConnection;
    this.expiry = new StreamExpiry(this.commands, options.topicTtl, () =>
      [...this.topics.values()].filter((topic) => topic.established).map((topic) => topic.key),
    );
    this.subscriber = connect(options, "subscriber");
    watchOutages(this.commands, "commands", options.logger, isClosed, this.#recoveries);
    watchOutages(this.subscriber, "subscriber", options.logger, isClosed, this.#recoveries);
    this.subscriber.on("message", (channel: string, wire: string) => this.receive(channel, wire));
    this.subscriber.on("close", () => this.subscriberLost());
    this.subscriber.on("ready", () => void this.resubscribe());
    this.commands.on("ready", () => this.catchUpAll());
    this.presence = new RedisPresence({
      commands: this.commands,
      prefix: options.prefix,
      refresh: options.presenceRefresh,
      publish: (...message) => this.publish(...message),
      ready: () => this.ready(this.commands),
      isClosed,
      followedTopics: () => [...this.topics.values()].map((topic) => topic.topic),
      logger: options.logger,
    });
  }

  /** Times the broker came back after losing Redis (see RecoveryCount). */
  get reconnects(): number {
    return this.#recoveries.count;
  }

  async publish(
    topic: string,
    event: string | undefined,
    json: string,
    options?: BrokerPublishOptions,
  ): Promise<string> {
    checkTopic(topic);
    if (event !== undefined && (typeof event !== "string" || event.includes("\n"))) {
      throw new TypeError(`publish: the event must be a string without newlines, got ${event}`);
    }
    if (typeof json !== "string") throw new TypeError("publish: the data must be JSON text");
    const except = checkExcept(options?.except);
    const what = `the message to topic "${topic}" was not published`;
    if (isLiveOnly(options)) {
      const wire = `\n${wireLines(event, except, options?.presence)}\n${json}`;
      return this.publishLive(topic, wire, what);
    }
    const dedupeKey = checkDedupeKey(options?.dedupeKey, "publish: the dedupeKey");
    try {
      await this.ready(this.commands);
      const key = this.keyOf(topic);
      const lines = wireLines(event, except, undefined);
      const args = [this.maxLen, this.expiry.ttlArgument, key, this.dedupeWindow, json, lines];
      args.push(...entryFields(event, except));
      // A repeat resolves the first publish's id, from inside the script (see PUBLISH_SCRIPT).
      return dedupeKey === undefined
        ? await this.commands[PUBLISH_COMMAND](1, key, ...args)
        : await this.commands[PUBLISH_COMMAND](
            2,
            key,
            dedupeKeyOf(this.options.prefix, topic, dedupeKey),
            ...args,
          );
    } catch (error) {
      throw brokerError(error, what, this.closed);
    }
  }

  /**
   * A live-only message: a plain PUBLISH of its wire (id empty) on the topic's channel, no
   * XADD (see PUBLISH_SCRIPT for why no script). Resolves LIVE_ONLY_ID.
   */
  private async publishLive(topic: string, wire: string, what: string): Promise<string> {
    try {
      await this.ready(this.commands);
      await this.commands.publish(this.keyOf(topic), wire);
      return LIVE_ONLY_ID;
    } catch (error) {
      throw brokerError(error, what, this.closed);
    }
  }

  /**
   * The stream's last generated id ("0-0" when there is no stream). When this process
   * delivers the topic live, resolves once live delivery has reached it, as replay() does:
   * what a subscriber gets live after it is exactly what comes after the head.
   */
  async head(topic: string): Promise<string> {
    checkTopic(topic);
    try {
      await this.ready(this.commands);
      const key = this.keyOf(topic);
      const head = await headOf(this.commands, key);
      await this.liveReached(key, head);
      return head;
    } catch (error) {
      throw brokerError(error, `the head of topic "${topic}" could not be read`, this.closed);
    }
  }

  async history(topic: string, query: HistoryQuery): Promise<StoredMessage[]> {
    checkTopic(topic);
    const { after, limit } = query;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new TypeError(`history: the limit must be a non-negative integer, got ${limit}`);
    }
    // Nothing comes after an id the log cannot hold (as with the memory broker), nor after
    // the largest one (which XRANGE refuses to go past).
    if (
      limit === 0 ||
      (after !== undefined && (!isStreamId(after) || compareStreamIds(after, MAX_STREAM_ID) === 0))
    ) {
      return [];
    }
    try {
      await this.ready(this.commands);
      const key = this.keyOf(topic);
      const entries =
        after === undefined
          ? (await this.commands.xrevrange(key, "+", "-", "COUNT", limit)).reverse()
          : await this.commands.xrange(key, `(${after}`, "+", "COUNT", limit);
      return entries.map((entry) => decodeEntry(topic, entry));
    } catch (error) {
      throw brokerError(error, `the history of topic "${topic}" could not be read`, this.closed);
    }
  }

  async replay(topic: string, lastId: string): Promise<Replay> {
    checkTopic(topic);
    try {
      await this.ready(this.commands);
      const key = this.keyOf(topic);
      const log: LogAfter = isStreamId(lastId)
        ? await readAfter(this.commands, key, topic, lastId)
        : { kind: "unknown", messages: [], head: await headOf(this.commands, key) };
      await this.liveReached(key, log.kind === "messages" ? log.messages.at(-1)?.id : log.head);
      if (log.kind === "messages") return { kind: "messages", messages: log.messages };
      return { kind: "reset", reason: log.kind, head: log.head };
    } catch (error) {
      throw brokerError(error, `topic "${topic}" could not be replayed`, this.closed);
    }
  }

  async subscribe(topic: string, deliver: Deliver): Promise<() => void> {
    checkTopic(topic);
    if (typeof deliver !== "function") throw new TypeError("subscribe: deliver must be a function");
    const what = `could not subscribe to topic "${topic}"`;
    if (this.closed) throw brokerError(undefined, what, true);
    const key = this.keyOf(topic);
    let subscription = this.topics.get(key);
    if (!subscription) {
      subscription = new LiveTopic(
        topic,
        key,
        Math.max(this.options.history, MIN_HOLD),
        (error, message) => this.deliverThrew(error, message),
      );
      this.topics.set(key, subscription);
      subscription.ready = this.establish(subscription);
    }
    const deliverer: Deliverer = { deliver };
    subscription.deliverers.add(deliverer);
    try {
      await subscription.ready;
    } catch (error) {
      subscription.deliverers.delete(deliverer);
      throw brokerError(error, what, this.closed);
    }
    const live = subscription;
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.stop(live, deliverer);
    };
  }

  compareIds(a: string, b: string): number {
    return compareStreamIds(a, b);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.presence.close();
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.expiry.stop();
    for (const subscription of this.topics.values()) subscription.release();
    this.topics.clear();
    await Promise.all([letGo(this.commands), letGo(this.subscriber)]);
  }

  private keyOf(topic: string): string {
    return `${this.options.prefix}topic:${topic}`;
  }

  /**
   * When this process delivers the topic live, waits (a little, at most) until live delivery
   * has reached `id`. Pub/sub and the log come over two connections: without this, a message
   * that a replay returns could still come live after the replay resolved, and be delivered
   * twice by whoever subscribed before replaying (as an App resuming a client does).
   */
  private async liveReached(key: string, id: string | undefined): Promise<void> {
    const subscription = this.topics.get(key);
    if (!subscription?.established || id === undefined) return;
    const reached = subscription.reached(id);
    if (!reached) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      reached,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, LIVE_REACH_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Rejects unless `redis` can take a command (now, or after an attempt under way). */
  private async ready(redis: Redis): Promise<void> {
    if (this.closed) throw new Error("the broker is closed");
    if (redis.status !== "ready") await whenReady(redis, this.timeout);
  }

  /**
   * The first subscription to a topic: SUBSCRIBE, then the stream's head as the point
   * delivery starts after (messages that came live meanwhile and are not after it were
   * published before subscribe() resolves: they may be dropped). Fails if the subscriber
   * connection was lost meanwhile, rather than wait for it.
   */
  private async establish(subscription: LiveTopic): Promise<void> {
    try {
      await this.ready(this.subscriber);
      const epoch = this.subscriberEpoch;
      await this.subscriber.subscribe(subscription.key);
      subscription.subscribedEpoch = epoch;
      await this.ready(this.commands);
      const head = await headOf(this.commands, subscription.key);
      if (this.closed) throw new Error("the broker is closed");
      if (epoch !== this.subscriberEpoch) {
        throw new Error("the subscriber connection was lost while subscribing");
      }
      subscription.lastId = head;
      subscription.established = true;
      subscription.goLive([]);
      // Its stream lives as long as someone subscribes (a TTL about to end starts over).
      this.expiry.expireLater([subscription.key]);
      this.expiry.start();
      this.presence.wake();
    } catch (error) {
      if (this.topics.get(subscription.key) === subscription) {
        this.topics.delete(subscription.key);
        if (this.subscriber.status === "ready") {
          this.subscriber.unsubscribe(subscription.key).catch(noop);
        }
      }
      throw error;
    }
  }

  private stop(subscription: LiveTopic, deliverer: Deliverer): void {
    subscription.deliverers.delete(deliverer);
    if (subscription.deliverers.size > 0 || this.topics.get(subscription.key) !== subscription) {
      return;
    }
    this.topics.delete(subscription.key);
    subscription.release();
    // When the connection is down there is nothing to undo: it is not resubscribed.
    if (this.subscriber.status === "ready") {
      this.subscriber.unsubscribe(subscription.key).catch(noop);
    }
    // The full TTL from now, as after a publish: a client that just left can still resume.
    if (subscription.established) this.expiry.expireLater([subscription.key]);
  }

  private receive(channel: string, wire: string): void {
    const subscription = this.topics.get(channel);
    if (!subscription) return;
    const message = decodeWire(subscription.topic, wire);
    if (message) subscription.receive(message);
    else this.options.logger?.warn({ channel }, "Ignored a pub/sub message not sent by sluice");
  }

  private deliverThrew(error: unknown, message: StoredMessage): void {
    this.options.logger?.warn(
      { err: error, topic: message.topic, id: message.id },
      "A subscriber threw while a message was delivered; delivery goes on",
    );
  }

  /** The subscriber connection closed: what comes live after it is back waits for catch-up. */
  private subscriberLost(): void {
    this.subscriberEpoch++;
    for (const subscription of this.topics.values()) {
      if (subscription.established) subscription.hold();
    }
  }

  /** The subscriber connection is (again) ready: subscribe what was live, then catch up. */
  private async resubscribe(): Promise<void> {
    if (this.closed) return;
    const epoch = this.subscriberEpoch;
    const due = [...this.topics.values()].filter(
      (subscription) => subscription.established && subscription.subscribedEpoch !== epoch,
    );
    if (due.length === 0) return;
    try {
      await this.subscriber.subscribe(...due.map((subscription) => subscription.key));
    } catch {
      return; // Lost again: the next 'ready' does it.
    }
    if (epoch !== this.subscriberEpoch) return;
    for (const subscription of due) {
      if (this.topics.get(subscription.key) !== subscription) continue;
      subscription.subscribedEpoch = epoch;
      void this.catchUp(subscription);
    }
  }

  private needsCatchUp(subscription: LiveTopic): boolean {
    return (
      !this.closed &&
      this.topics.get(subscription.key) === subscription &&
      subscription.established &&
      !subscription.live &&
      subscription.subscribedEpoch === this.subscriberEpoch
    );
  }

  private catchUpAll(): void {
    for (const subscription of this.topics.values()) {
      if (this.needsCatchUp(subscription)) void this.catchUp(subscription);
    }
  }

  /**
   * Reads the topic's log after its last delivered id and goes live. Only once subscribed
   * on the current connection, so that everything after the read comes live; abandoned when
   * that connection is lost meanwhile (the next one catches up again).
   */
  private async catchUp(subscription: LiveTopic): Promise<void> {
    if (subscription.reading) {
      subscription.again = true;
      return;
    }
    subscription.reading = true;
    try {
      do {
        subscription.again = false;
        if (!this.needsCatchUp(subscription)) return;
        const epoch = this.subscriberEpoch;
        let log: LogAfter;
        try {
          await this.ready(this.commands);
          log = await readAfter(
            this.commands,
            subscription.key,
            subscription.topic,
            subscription.lastId as string,
          );
        } catch (error) {
          this.catchUpFailed(subscription, error);
          return;
        }
        if (epoch === this.subscriberEpoch && this.topics.get(subscription.key) === subscription) {
          this.caughtUp(subscription, log);
        }
      } while (subscription.again);
    } finally {
      subscription.reading = false;
    }
  }

  private caughtUp(subscription: LiveTopic, log: LogAfter): void {
    const { topic, lastId } = subscription;
    const logger = this.options.logger;
    if (log.kind === "messages") {
      subscription.goLive(log.messages);
    } else if (log.kind === "trimmed") {
      logger?.warn(
        { topic, after: lastId, head: log.head },
        "Messages published while the subscriber connection was down were trimmed from the log before they could be delivered (raise `history`)",
      );
      subscription.goLive(log.messages);
    } else {
      logger?.warn(
        { topic, after: lastId, head: log.head },
        "The log does not know the last delivered id (its stream expired, or Redis lost its data); delivery goes on from its head",
      );
      // A log that began anew since: its messages were all published after the last delivery.
      subscription.goLive(log.messages, log.head);
    }
  }

  private catchUpFailed(subscription: LiveTopic, error: unknown): void {
    if (this.closed) return;
    if (!isUnavailable(error)) {
      this.options.logger?.warn(
        { err: error, topic: subscription.topic },
        "Could not read the log to catch up; delivery goes on with live messages only",
      );
      subscription.goLive([]);
      return;
    }
    // The command connection's 'ready' retries too; this covers a timeout while it stays up.
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.catchUpAll();
    }, CATCH_UP_RETRY_MS);
    this.retryTimer.unref();
  }
}

/** A client id rides the wire as one line: it must be a non-empty string without newlines. */
function checkExcept(except: unknown): string | undefined {
  if (except === undefined) return undefined;
  if (typeof except !== "string" || except === "" || /[\r\n]/.test(except)) {
    throw new TypeError(
      `publish: except must be a client id (a non-empty one-line string), got ${String(except)}`,
    );
  }
  return except;
}

function checkTopic(topic: unknown): void {
  if (typeof topic !== "string") throw new TypeError("the topic must be a string");
}

/** Closes a connection for good: QUIT when it is up, then waits (a little) for its end. */
async function letGo(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  const open =
    redis.status === "ready" || redis.status === "connect" || redis.status === "connecting";
  if (redis.status === "ready") await redis.quit().catch(noop);
  redis.disconnect();
  if (!open || (redis.status as string) === "end") return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, 1000);
    redis.once("end", done);
    function done() {
      clearTimeout(timer);
      redis.off("end", done);
      resolve();
    }
  });
}
