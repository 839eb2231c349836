import type { Logger } from "pino";
import { stringifyJson } from "../util/json.js";
import { TrafficCounters } from "../util/traffic-counters.js";
import type { FrameTarget, SocketTopicSet, SocketTopics } from "../websocket/socket-topics.js";
import type { Broker, BrokerPublishOptions } from "./broker.js";
import type { PresenceMember } from "./broker-presence.js";
import { checkDedupeKey } from "./dedupe-key.js";
import { presenceOf } from "./presence-of.js";
import { checkExcept, checkStore, type PublishExcept } from "./publish-delivery.js";
import { SocketSubscriptions } from "./socket-subscriptions.js";
import {
  checkLastEventId,
  checkPublishedEvent,
  checkReplay,
  checkTopic,
  describe,
} from "./topic-checks.js";
import { UnstorableOutputError } from "./topic-errors.js";
import { TopicHub } from "./topic-hub.js";
import { TopicMessage } from "./topic-message.js";
import { TopicSchemas } from "./topic-schemas.js";
import { TopicSubscription } from "./topic-subscription.js";

export interface PublishOptions {
  /** The event type: SSE clients dispatch it to listeners of that name. Default "message". */
  event?: string;
  /**
   * Your id for this message (a non-empty string of at most 200 characters, unique per
   * message: a random UUID fits): publishing again with the same key on the same topic within
   * the broker's `dedupeWindow` (default 2 minutes, memory and Redis alike) stores and
   * delivers nothing and resolves the id the first publish got, so a publish whose outcome
   * was lost (a timeout, a dropped connection) can be retried safely. Keys are per topic:
   * the same key on another topic is another message. Without a key, every publish is stored.
   *
   * @example
   * const dedupeKey = crypto.randomUUID();
   * const id = await app.publish("orders", order, { dedupeKey }); // retried with the same key
   */
  dedupeKey?: string;
  /**
   * `false`: a live-only message (typing notices, cursor moves): delivered to the topic's
   * current subscribers, in every process, and never written to the log, so never replayed
   * and never in history. It has no resumable id: publish() resolves "", a TopicMessage's
   * `id` is "", the event `app.subscribe()` yields has no `id` (undefined: its SSE event has
   * no `id:` line, so a client's Last-Event-ID stays on the last stored message), and
   * WebSocket frames carry `"id":""`. At most once: a subscriber away (reconnecting) at that
   * moment never gets it. A `dedupeKey` is ignored then. Default true.
   *
   * @example
   * await app.publish("room:1", { typing: "ada" }, { store: false });
   */
  store?: boolean;
  /**
   * A client that must not receive the message, usually its sender: a client id (a
   * WebSocket's `socket.id`, a real-time connection's `ctx.clientId`) or the socket itself.
   * Works across processes. A stored message is still stored: a later replay (a resume, a
   * `replay: n`) is another delivery and gives it to that client too.
   *
   * @example
   * await app.publish("room:1", { text }, { except: socket });
   */
  except?: PublishExcept;
}

export interface SubscribeOptions {
  /** Replay every retained message after this id first (an SSE client's Last-Event-ID). */
  lastEventId?: string;
  /**
   * The latest `replay` retained messages first (at most 10 000), then live ones: nothing
   * published in between is lost or repeated (history-then-subscribe without the race).
   * `lastEventId` wins when both are given: a client that resumes gets what it missed.
   */
  replay?: number;
  /** Ends the subscription when it aborts: pass `req.signal`. */
  signal?: AbortSignal;
  /** Messages that may wait for a busy consumer before it is cut off. Default 1 000. */
  maxQueued?: number;
  /**
   * Also yield the topic's presence events: a `join` or `leave` event (no id: they are never
   * stored or replayed) whose data is the member `{ clientId, info, since }`, whenever a
   * connection joins or leaves its presence (`socket.subscribe(topic, { presence })`, a
   * real-time client's `subscribe(topic, { presence })`) on any instance. Default false.
   */
  joinLeave?: boolean;
}

export interface HistoryOptions {
  /** Only messages after this id. Without it, the newest ones. */
  after?: string;
  /** At most this many messages. Default 100. */
  limit?: number;
}

const DEFAULT_MAX_QUEUED = 1000;
/** Apps using each broker: the last one to close closes it (two Apps may share one). */
const appsUsing = new WeakMap<Broker, number>();
const DEFAULT_HISTORY_LIMIT = 100;

/** The App's topics: publish, subscribe and history over one broker, fanned out locally. */
export class Topics implements SocketTopics {
  readonly hub: TopicHub;
  /** The declared topics' schemas: publishes are validated with them before they are stored. */
  readonly schemas = new TopicSchemas();

  constructor(
    readonly broker: Broker,
    readonly logger: Logger,
    /** The App's counters: publishes, deliveries and cut-offs are counted in them. */
    readonly counters: TrafficCounters = new TrafficCounters(),
  ) {
    this.hub = new TopicHub(broker, logger);
    appsUsing.set(broker, (appsUsing.get(broker) ?? 0) + 1);
  }

  /**
   * Validates `data` with the topic's schema (if declared), then stores the output.
   * `admit` (internal: a real-time endpoint's publish rule) sees that output before it is
   * stored, and may throw to refuse it.
   */
  async publish(
    topic: string,
    data: unknown,
    options: PublishOptions = {},
    admit?: (output: unknown) => unknown,
  ): Promise<string> {
    checkTopic(topic);
    const { event, dedupeKey, store, except } = checkOptions(options, "publish");
    const checkedEvent = checkPublishedEvent(event);
    const checkedKey = checkDedupeKey(dedupeKey);
    const delivery = brokerOptions(checkedKey, checkStore(store), checkExcept(except));
    // Once per publish, however many subscribers; awaited only when the schema is async.
    let stored = this.schemas.validate(topic, data);
    if (stored instanceof Promise) stored = await stored;
    if (admit) await admit(stored);
    const json = stored === data ? givenJson(data) : outputJson(topic, stored);
    const id = await (delivery === undefined
      ? this.broker.publish(topic, checkedEvent, json)
      : this.broker.publish(topic, checkedEvent, json, delivery));
    // Counted once the broker took it: a refused or failed publish published nothing.
    this.counters.published++;
    return id;
  }

  subscribe(topic: string, options: SubscribeOptions = {}): TopicSubscription {
    checkTopic(topic);
    const {
      lastEventId,
      replay,
      signal,
      maxQueued = DEFAULT_MAX_QUEUED,
      joinLeave = false,
    } = checkOptions(options, "subscribe");
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`subscribe() signal must be an AbortSignal, got ${describe(signal)}`);
    }
    checkPositiveInteger(maxQueued, "subscribe() maxQueued");
    if (typeof joinLeave !== "boolean") {
      throw new TypeError(`subscribe() joinLeave must be a boolean, got ${describe(joinLeave)}`);
    }
    const start = {
      lastEventId: checkLastEventId(lastEventId),
      replay: checkReplay(replay, "subscribe()"),
    };
    return new TopicSubscription(this, topic, start, maxQueued, signal, joinLeave);
  }

  /** Who is in the topic's presence, on every instance: oldest first. */
  async presence(topic: string): Promise<PresenceMember[]> {
    checkTopic(topic);
    return presenceOf(this.broker, "app.presence()").members(topic);
  }

  async history(topic: string, options: HistoryOptions = {}): Promise<TopicMessage[]> {
    checkTopic(topic);
    const { after, limit = DEFAULT_HISTORY_LIMIT } = checkOptions(options, "history");
    checkPositiveInteger(limit, "history() limit");
    const stored = await this.broker.history(topic, { after: checkLastEventId(after), limit });
    return stored.map((message) => new TopicMessage(message));
  }

  /**
   * Ends every subscription, then closes the broker unless another App still uses it
   * (logging, not throwing, its failure).
   */
  /** The subscriptions of one WebSocket (`socket.subscribe()`), for the WebSocket layer. */
  followedBy(socket: FrameTarget): SocketTopicSet {
    return new SocketSubscriptions(this.hub, this.broker, socket, this.counters);
  }

  async close(): Promise<void> {
    this.hub.endAll();
    const users = (appsUsing.get(this.broker) ?? 1) - 1;
    appsUsing.set(this.broker, users);
    if (users > 0) return;
    try {
      await this.broker.close();
    } catch (error) {
      this.logger.error({ err: error }, "the topic broker failed to close");
    }
  }
}

/**
 * What the broker is asked beyond the message, or undefined for a plain publish (a broker
 * written before these options sees the call it always did). A dedupe key is dropped when
 * the message is live-only: nothing is stored for a retry to find.
 */
function brokerOptions(
  dedupeKey: string | undefined,
  store: boolean | undefined,
  except: string | undefined,
): BrokerPublishOptions | undefined {
  const liveOnly = store === false;
  if (!liveOnly && dedupeKey === undefined && except === undefined) return undefined;
  return {
    ...(liveOnly ? { store: false } : dedupeKey === undefined ? {} : { dedupeKey }),
    ...(except === undefined ? {} : { except }),
  };
}

/** The JSON of data published as it was given (no schema, or one that passed it through). */
function givenJson(data: unknown): string {
  if (data === undefined) throw new TypeError("publish() needs data: undefined is not JSON");
  return stringifyJson(data);
}

/** The JSON of a schema's output: one with no JSON form is the schema's fault. */
function outputJson(topic: string, output: unknown): string {
  if (output === undefined) throw new UnstorableOutputError(topic, "it is undefined");
  try {
    return stringifyJson(output);
  } catch (error) {
    // V8's message for a cycle spans lines (the path around it): its first says what.
    const why = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    throw new UnstorableOutputError(topic, why ?? "");
  }
}

function checkOptions<T>(options: T, method: string): T {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${method}() options must be an object, got ${describe(options)}`);
  }
  return options;
}

function checkPositiveInteger(value: unknown, what: string): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${what} must be a positive whole number, got ${describe(value)}`);
  }
}
