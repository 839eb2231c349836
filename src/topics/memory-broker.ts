import type {
  Broker,
  BrokerPublishOptions,
  Deliver,
  HistoryQuery,
  Replay,
  StoredMessage,
} from "./broker.js";
import { LIVE_ONLY_ID } from "./broker.js";
import { checkDedupeKey } from "./dedupe-key.js";
import { DedupeMemory } from "./dedupe-memory.js";
import { checkDedupeWindow, DEFAULT_DEDUPE_WINDOW } from "./dedupe-window-option.js";
import { checkHistory } from "./history-option.js";
import { isLiveOnly, liveOnlyMessage } from "./live-only.js";
import { MemoryPresence } from "./memory-presence.js";
import { compareStreamIds } from "./stream-id.js";
import { TopicLog } from "./topic-log.js";
import { checkTopicTtl } from "./topic-ttl-option.js";

export interface MemoryBrokerOptions {
  /** Messages each topic keeps for replay and history. Default 1 000. */
  history?: number;
  /**
   * Milliseconds a topic with no subscriber and no publish keeps its log; then the log is
   * dropped (within a quarter of the TTL more, a minute at most: one timer sweeps them all),
   * and a client resuming from one of its ids gets a reset (reason "unknown"). A topic with
   * a subscriber is never dropped. Default 5 minutes; `Infinity` keeps logs until
   * `maxTopics` makes room.
   */
  topicTtl?: number;
  /**
   * Topics whose log is kept, at most. A new topic past it drops the least recently used
   * topic (last publish, or last subscriber gone) that has no subscriber. Topics with
   * subscribers are never dropped: when every topic has one, the new one is kept anyway, and
   * the count stays past the cap until subscribers leave (publishes are not refused: the
   * excess is topics people are subscribed to, which connection limits bound). Default
   * 10 000; `Infinity` for no cap.
   */
  maxTopics?: number;
  /**
   * Milliseconds a publish's `dedupeKey` is remembered: a publish to the same topic with the
   * same key within it stores and delivers nothing and resolves the first one's id. Default
   * 2 minutes.
   */
  dedupeWindow?: number;
  /**
   * Dedupe keys remembered, at most, across all topics: past it the oldest key is forgotten
   * before its window ends (a retry that late is stored again). Keys expire with the window
   * and are swept as publishes come, a few at a time, without a timer. Default 100 000 (some
   * 30 MB with 36-character keys on short topic names, at 800 publishes with keys a second).
   */
  maxDedupeKeys?: number;
}

/** The memory broker: a Broker, and how many topics it keeps, for metrics and tests. */
export interface MemoryBroker extends Broker {
  /** Topics whose log is kept now. */
  readonly topicCount: number;
}

const DEFAULT_HISTORY = 1000;
/** Long enough for a reconnecting client (a network change, a laptop lid) to resume. */
const DEFAULT_TOPIC_TTL = 5 * 60_000;
const DEFAULT_MAX_TOPICS = 10_000;
const DEFAULT_MAX_DEDUPE_KEYS = 100_000;
/** The longest between two sweeps (a quarter of topicTtl otherwise). */
const MAX_SWEEP_INTERVAL = 60_000;

/**
 * Topics inside one process: a ring buffer per topic and synchronous delivery. Ids are
 * `<epoch>-<n>`, the epoch unique to each log: a client that comes back with an id of a log
 * that is gone (a restarted process, a topic dropped when idle) gets a reset rather than
 * messages that only look like the ones it missed.
 *
 * @example
 * new App({ broker: memoryBroker({ history: 100, topicTtl: 60_000, maxTopics: 50_000 }) });
 */
export function memoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      "memoryBroker() takes an options object: { history?, topicTtl?, maxTopics?, dedupeWindow?, maxDedupeKeys? }",
    );
  }
  return new InMemoryBroker(
    checkHistory(options.history ?? DEFAULT_HISTORY, "memoryBroker"),
    checkTopicTtl(options.topicTtl ?? DEFAULT_TOPIC_TTL, "memoryBroker"),
    checkMaxTopics(options.maxTopics ?? DEFAULT_MAX_TOPICS),
    new DedupeMemory(
      checkDedupeWindow(options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW, "memoryBroker"),
      checkMaxDedupeKeys(options.maxDedupeKeys ?? DEFAULT_MAX_DEDUPE_KEYS),
    ),
  );
}

function checkMaxTopics(maxTopics: unknown): number {
  if (
    maxTopics !== Number.POSITIVE_INFINITY &&
    (typeof maxTopics !== "number" || !Number.isSafeInteger(maxTopics) || maxTopics < 1)
  ) {
    throw new TypeError(
      `memoryBroker maxTopics must be a positive whole number (or Infinity), got ${String(maxTopics)}`,
    );
  }
  return maxTopics;
}

/** Not Infinity: the cap is what bounds the keys' memory when publishes come fast. */
function checkMaxDedupeKeys(maxDedupeKeys: unknown): number {
  if (
    typeof maxDedupeKeys !== "number" ||
    !Number.isSafeInteger(maxDedupeKeys) ||
    maxDedupeKeys < 1
  ) {
    throw new TypeError(
      `memoryBroker maxDedupeKeys must be a positive whole number, got ${String(maxDedupeKeys)}`,
    );
  }
  return maxDedupeKeys;
}

class InMemoryBroker implements MemoryBroker {
  private readonly logs = new Map<string, TopicLog>();
  private readonly deliverers = new Map<string, Set<Deliver>>();
  /**
   * Topics with a log and no subscriber, with when they became so (last publish, last
   * subscriber gone). Re-inserted on each use, so the least recently used come first: both
   * expiry and eviction only ever look at the front.
   */
  private readonly idle = new Map<string, number>();
  /** One timer for all topics, running only while some are idle. */
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  readonly presence = new MemoryPresence((...publish) => this.publish(...publish));

  constructor(
    private readonly capacity: number,
    private readonly topicTtl: number,
    private readonly maxTopics: number,
    private readonly dedupe: DedupeMemory,
  ) {}

  get topicCount(): number {
    return this.logs.size;
  }

  async publish(
    topic: string,
    event: string | undefined,
    json: string,
    options?: BrokerPublishOptions,
  ): Promise<string> {
    if (this.closed)
      throw new Error(`The broker is closed; the message to "${topic}" was not published`);
    if (isLiveOnly(options)) return this.deliverLive(topic, event, json, options);
    const dedupeKey = checkDedupeKey(options?.dedupeKey, "publish: the dedupeKey");
    if (dedupeKey !== undefined) {
      const first = this.dedupe.idOf(topic, dedupeKey);
      if (first !== undefined) return first;
    }
    this.sweep(Date.now());
    const log = this.logs.get(topic) ?? this.open(topic);
    const id = log.idOf(log.lastSequence + 1);
    const except = options?.except;
    const message: StoredMessage =
      except === undefined ? { topic, id, event, json } : { topic, id, event, json, except };
    log.append(message);
    if (dedupeKey !== undefined) this.dedupe.remember(topic, dedupeKey, message.id);
    const deliverers = this.deliverers.get(topic);
    if (deliverers) for (const deliver of deliverers) deliverSafely(deliver, message);
    else this.markIdle(topic);
    return message.id;
  }

  /**
   * A live-only message: to the topic's subscribers now, no log (none is made for it, so a
   * topic nobody follows costs nothing), no dedupe.
   */
  private deliverLive(
    topic: string,
    event: string | undefined,
    json: string,
    options: BrokerPublishOptions | undefined,
  ): string {
    const message = liveOnlyMessage(topic, event, json, options);
    const deliverers = this.deliverers.get(topic);
    if (deliverers) for (const deliver of deliverers) deliverSafely(deliver, message);
    return LIVE_ONLY_ID;
  }

  async head(topic: string): Promise<string> {
    // As replay() does: a topic without a log gets an empty one, whose starting point is an
    // id of the topic (a later replay from it gives what was published since, not a reset).
    const log = this.logs.get(topic) ?? this.open(topic);
    return log.idOf(log.lastSequence);
  }

  async history(topic: string, query: HistoryQuery): Promise<StoredMessage[]> {
    const log = this.logs.get(topic);
    if (!log) return [];
    if (query.after === undefined) return log.newest(query.limit);
    const after = log.sequenceOf(query.after);
    return after === undefined ? [] : log.after(after, query.limit);
  }

  async replay(topic: string, lastId: string): Promise<Replay> {
    // A topic without a log gets an empty one, so the head given with the reset is an id of
    // the topic: a client that resumes from it later misses nothing published meanwhile.
    const log = this.logs.get(topic) ?? this.open(topic);
    const last = log.lastSequence;
    const head = log.idOf(last);
    const sequence = log.sequenceOf(lastId);
    if (sequence === undefined || sequence > last)
      return { kind: "reset", reason: "unknown", head };
    // The message right after the client's is still here: nothing in between was trimmed.
    if (sequence + 1 < log.firstSequence) return { kind: "reset", reason: "trimmed", head };
    return { kind: "messages", messages: log.after(sequence, Number.MAX_SAFE_INTEGER) };
  }

  async subscribe(topic: string, deliver: Deliver): Promise<() => void> {
    let deliverers = this.deliverers.get(topic);
    if (!deliverers) {
      deliverers = new Set();
      this.deliverers.set(topic, deliverers);
      this.idle.delete(topic);
    }
    deliverers.add(deliver);
    return () => {
      deliverers.delete(deliver);
      if (deliverers.size === 0 && this.deliverers.get(topic) === deliverers) {
        this.deliverers.delete(topic);
        if (this.logs.has(topic)) this.markIdle(topic);
      }
    };
  }

  compareIds(a: string, b: string): number {
    return compareStreamIds(a, b);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.presence.clear();
    this.deliverers.clear();
    this.dedupe.clear();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** A new log for the topic, after making room for it under maxTopics. */
  private open(topic: string): TopicLog {
    this.evictDownTo(this.maxTopics - 1);
    const log = new TopicLog(this.capacity);
    this.logs.set(topic, log);
    if (!this.deliverers.has(topic)) this.markIdle(topic);
    return log;
  }

  /** The topic (which has a log and no subscriber) was just used: its TTL starts now. */
  private markIdle(topic: string): void {
    this.idle.delete(topic);
    this.idle.set(topic, Date.now());
    // Topics with subscribers may have pushed the count past the cap: older idle ones go now
    // (not this one, the newest: publish() must not drop what it just stored).
    this.evictDownTo(this.maxTopics, topic);
    if (this.sweeper === undefined && !this.closed && Number.isFinite(this.topicTtl)) {
      this.sweeper = setInterval(() => this.sweep(Date.now()), sweepInterval(this.topicTtl));
      this.sweeper.unref();
    }
  }

  /**
   * Drops the least recently used idle topics until at most `count` remain, or none is idle
   * but `spare`.
   */
  private evictDownTo(count: number, spare?: string): void {
    for (const topic of this.idle.keys()) {
      if (this.logs.size <= count || topic === spare) return;
      this.drop(topic);
    }
  }

  /** Drops the topics idle for topicTtl or longer; the timer stops when none is left idle. */
  private sweep(now: number): void {
    for (const [topic, since] of this.idle) {
      if (now - since < this.topicTtl) break;
      this.drop(topic);
    }
    if (this.idle.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private drop(topic: string): void {
    this.idle.delete(topic);
    this.logs.delete(topic);
  }
}

function sweepInterval(topicTtl: number): number {
  return Math.min(Math.ceil(topicTtl / 4), MAX_SWEEP_INTERVAL);
}

/** One subscriber's failure must not keep a message from the others. */
function deliverSafely(deliver: Deliver, message: StoredMessage): void {
  try {
    deliver(message);
  } catch {
    // Deliverers belong to the App's fan-out, which catches its own subscribers' errors.
  }
}
