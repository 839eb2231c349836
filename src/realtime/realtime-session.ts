import { expiresIn } from "../http/credentials.js";
import type { SluiceRequest } from "../http/request.js";
import {
  type CallFrame,
  type ClientFrame,
  PROTOCOL,
  type PresenceFrame,
  type PresenceResult,
  type PublishFrame,
  type Ref,
  type RefreshFrame,
  type SubscribeFrame,
  type WelcomeFrame,
} from "../protocol/frames.js";
import { attachFrom } from "../topics/resume.js";
import { type AttachedAt, attachAtHead, attachLatest } from "../topics/subscribe-at.js";
import { TopicSegmentError, UnstorableOutputError } from "../topics/topic-errors.js";
import type { TopicSink } from "../topics/topic-hub.js";
import { logSafely } from "../util/logger.js";
import { SchemaError } from "../util/run-schema.js";
import type { SluiceWebSocket } from "../websocket/sluice-websocket.js";
import type { MessageRate } from "../websocket/websocket-options.js";
import { callMethod } from "./method-call.js";
import { MalformedFrame, parseFrame } from "./parse-frame.js";
import type { RealtimeContext } from "./realtime-context.js";
import type { RealtimeEndpoint } from "./realtime-endpoint.js";
import { type PresenceJoin, presenceJoin } from "./realtime-presence.js";
import { RealtimeSink } from "./realtime-sink.js";
import { errorBodyOf, isAnswer, ReplyError } from "./reply-error.js";
import { errorReply, okReply, positionReply } from "./reply-frames.js";

/** Requests of one connection awaiting their reply past which its frames are left unread. */
const MAX_IN_FLIGHT = 64;
/** Close code for a connection that did not select sluice.v1: refused, not to be retried. */
const NOT_SPOKEN = 4400;
/** The WebSocket routes' heartbeat when none is set (websocket-options.ts). */
const DEFAULT_HEARTBEAT_MS = 30_000;
/** The WebSocket routes' maxBuffered when none is set (websocket-options.ts). */
const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;

interface Following {
  readonly sink: RealtimeSink;
  readonly attached: TopicSink;
  /** The presence joined, when the subscribe asked to join. */
  readonly joined: PresenceJoin | undefined;
}

/**
 * One client of a real-time endpoint over WebSocket, for the life of its socket: the welcome,
 * then each frame read, checked and answered with exactly one reply. Requests on one topic
 * (subscribe, unsubscribe, publish) run one after another in the order they came; calls run
 * side by side. A request that fails gets an error reply: the connection stays.
 */
export class RealtimeSession {
  readonly #following = new Map<string, Following>();
  /** The last request queued on each topic: the next one runs after it. */
  readonly #topicQueues = new Map<string, Promise<void>>();
  readonly #ctx: RealtimeContext<object>;
  #inFlight = 0;
  /** Subscribes past the rule check and not yet following: they count against the limit. */
  #subscribing = 0;
  #slotFreed: (() => void) | undefined;
  /** The refresh under way (and any queued after it): later frames wait for it. */
  #refreshing: Promise<void> | undefined;
  /** Stops waiting for each call still running: called when the connection closes. */
  readonly #pendingCalls = new Set<() => void>();
  #ended = false;

  constructor(
    private readonly endpoint: RealtimeEndpoint,
    private readonly socket: SluiceWebSocket,
    request: SluiceRequest,
  ) {
    this.#ctx = {
      request: request as RealtimeContext<object>["request"],
      clientId: socket.id,
      socket,
    };
  }

  /** Serves the socket until it closes. */
  async run(): Promise<void> {
    if (this.socket.protocol !== PROTOCOL) {
      this.socket.close(NOT_SPOKEN, `Offer the WebSocket subprotocol ${PROTOCOL}`);
      return;
    }
    // A thrown HttpError closes with 4000 + status, as from any WebSocket route's handler.
    await this.endpoint.options.onConnect?.(this.#ctx);
    const welcome: WelcomeFrame = {
      type: "welcome",
      clientId: this.#ctx.clientId,
      protocol: PROTOCOL,
      heartbeat: this.endpoint.options.webSocket.heartbeat ?? DEFAULT_HEARTBEAT_MS,
      messageRate: announcedRate(this.endpoint.options.webSocket.messageRate),
      expiresIn: expiresIn(this.socket.request),
    };
    // The session ends when the socket closes, also while it waits for a free request slot.
    void this.socket.closed.then(this.#end);
    try {
      await this.socket.send(JSON.stringify(welcome));
      for await (const message of this.socket) {
        if (this.#ended) break;
        const frame = parseFrame(message);
        // One refresh at a time passes the limit: a token sent in time must not wait behind
        // slow calls and let the connection expire.
        const reserved =
          !(frame instanceof MalformedFrame) &&
          frame.type === "refresh" &&
          this.#refreshing === undefined;
        // A client that does not wait for its replies is read no faster than they go out.
        if (!reserved) await this.#freeSlot();
        if (this.#ended) break;
        this.#handle(frame, reserved);
      }
    } finally {
      this.#end();
    }
  }

  async #freeSlot(): Promise<void> {
    while (this.#inFlight >= MAX_IN_FLIGHT && !this.#ended) {
      await new Promise<void>((resolve) => {
        this.#slotFreed = resolve;
      });
    }
  }

  #handle(frame: ClientFrame | MalformedFrame, reserved: boolean): void {
    if (frame instanceof MalformedFrame) {
      this.#send(errorReply(frame.ref, { code: "invalid", message: frame.problem }));
      return;
    }
    if (frame.type === "refresh") {
      const done = this.#afterRefresh(frame);
      if (!reserved) this.#counted(done);
      return;
    }
    // After a refresh under way: the requests that follow it are judged by its outcome.
    const run = () =>
      frame.type === "call"
        ? this.#call(frame)
        : this.#onTopic(frame.topic, () => this.#topicRequest(frame));
    this.#counted(this.#refreshing ? this.#refreshing.then(run) : run());
  }

  #counted(done: Promise<void>): void {
    this.#inFlight++;
    void done.then(this.#requestDone);
  }

  /** Runs the refresh after any earlier one; the frames that follow wait for it. */
  #afterRefresh(frame: RefreshFrame): Promise<void> {
    const refreshing = (this.#refreshing ?? Promise.resolve()).then(() => this.#refresh(frame));
    this.#refreshing = refreshing;
    void refreshing.then(() => {
      if (this.#refreshing === refreshing) this.#refreshing = undefined;
    });
    return refreshing;
  }

  readonly #requestDone = (): void => {
    this.#inFlight--;
    const freed = this.#slotFreed;
    this.#slotFreed = undefined;
    freed?.();
  };

  /** Runs `request` after the topic's earlier requests; resolves once it has replied. */
  #onTopic(topic: string, request: () => Promise<void>): Promise<void> {
    const queued = (this.#topicQueues.get(topic) ?? Promise.resolve()).then(request);
    this.#topicQueues.set(topic, queued);
    void queued.then(() => {
      if (this.#topicQueues.get(topic) === queued) this.#topicQueues.delete(topic);
    });
    return queued;
  }

  async #topicRequest(frame: Exclude<ClientFrame, CallFrame | RefreshFrame>): Promise<void> {
    try {
      if (frame.type === "subscribe") await this.#subscribe(frame);
      else if (frame.type === "presence")
        this.#send(okReply(frame.ref, await this.#members(frame)));
      else if (frame.type === "unsubscribe") {
        this.#unfollow(frame.topic);
        this.#send(okReply(frame.ref, null));
      } else this.#send(okReply(frame.ref, { id: await this.#publish(frame) }));
    } catch (error) {
      this.#fail(frame.ref, error, frame.type, frame.topic);
    }
  }

  async #subscribe(frame: SubscribeFrame): Promise<void> {
    const { topic, ref } = frame;
    const followed = this.#following.get(topic);
    if (followed) {
      // Still allowed? A refresh may have taken the topic away: refused, it is no longer
      // followed (the client ends a subscription refused for good).
      await this.#recheck(topic);
      if (frame.since === undefined) this.#send(positionReply(ref, null));
      else await this.#restartAfter(frame, followed);
      return;
    }
    // Subscribes of different topics run side by side: those under way count too.
    const max = this.endpoint.options.maxSubscriptions;
    if (this.#following.size + this.#subscribing >= max) {
      throw new ReplyError(
        "forbidden",
        `At most ${max} subscriptions per connection: unsubscribe from one first`,
      );
    }
    this.#subscribing++;
    try {
      await this.endpoint.checkSubscribe(topic, this.#ctx);
      const rule = this.endpoint.options.presence;
      const joining =
        frame.presence === undefined
          ? undefined
          : await presenceJoin(this.endpoint.topics.broker, rule, this.#ctx, topic, frame.presence);
      const sink = this.#sinkFor(frame);
      const { sink: attached, position } = await this.#attach(frame, sink);
      const following = { sink, attached, joined: joining };
      if (joining) await this.#join(topic, following);
      if (this.#ended) {
        this.#stopFollowing(topic, following);
        return;
      }
      this.#following.set(topic, following);
      this.#send(positionReply(ref, position));
      void sink.open();
    } finally {
      this.#subscribing--;
    }
  }

  /**
   * A subscribe with `since` to a topic followed already: delivery starts again after
   * `since` (a client that paused a subscription its reader lagged on), and the presence
   * membership stays, with no leave nor join.
   */
  async #restartAfter(frame: SubscribeFrame, followed: Following): Promise<void> {
    const { topic, ref } = frame;
    followed.sink.stop();
    this.endpoint.topics.hub.detach(topic, followed.attached);
    const sink = this.#sinkFor(frame);
    let attached: TopicSink;
    try {
      attached = (await this.#attach(frame, sink)).sink;
    } catch (error) {
      // Not following any more: nothing delivers, so the membership goes too.
      this.#unfollow(topic);
      throw error;
    }
    const following = { sink, attached, joined: followed.joined };
    if (this.#ended || this.#following.get(topic) !== followed) {
      this.#stopFollowing(topic, following);
      return;
    }
    this.#following.set(topic, following);
    this.#send(positionReply(ref, frame.since ?? null));
    void sink.open();
  }

  /** The subscribe rule for a topic followed already; refused, the topic is unfollowed. */
  async #recheck(topic: string): Promise<void> {
    try {
      await this.endpoint.checkSubscribe(topic, this.#ctx);
    } catch (error) {
      this.#unfollow(topic);
      throw error;
    }
  }

  #sinkFor(frame: SubscribeFrame): RealtimeSink {
    return new RealtimeSink(
      this.socket,
      this.endpoint.options.webSocket.maxBuffered ?? DEFAULT_MAX_BUFFERED,
      this.#ctx.request.log,
      this.#ctx.clientId,
      frame.joinLeave === true,
      this.endpoint.topics.counters,
    );
  }

  async #attach(frame: SubscribeFrame, sink: RealtimeSink): Promise<AttachedAt> {
    const { hub, broker } = this.endpoint.topics;
    const { topic, since, replay } = frame;
    try {
      if (since !== undefined) {
        return { sink: await attachFrom(hub, broker, topic, since, sink), position: since };
      }
      if (replay !== undefined) return await attachLatest(hub, broker, topic, replay, sink);
      return await attachAtHead(hub, broker, topic, sink);
    } catch (error) {
      throw this.#brokerFailed(error, `could not subscribe to ${JSON.stringify(topic)}`);
    }
  }

  /** Joins the presence once live (so the client gets its own join); undone if it fails. */
  async #join(topic: string, following: Following): Promise<void> {
    const joined = following.joined as PresenceJoin;
    try {
      await joined.store.join(topic, this.#ctx.clientId, joined.infoJson);
    } catch (error) {
      this.#stopFollowing(topic, following);
      throw this.#brokerFailed(error, `could not join the presence of ${JSON.stringify(topic)}`);
    }
  }

  /** The topic's members, for a client that may subscribe to it. */
  async #members(frame: PresenceFrame): Promise<PresenceResult> {
    await this.endpoint.checkSubscribe(frame.topic, this.#ctx);
    const { broker } = this.endpoint.topics;
    if (!broker.presence) {
      throw new ReplyError("forbidden", "This server keeps no presence (its broker has none)");
    }
    try {
      return { members: await broker.presence.members(frame.topic) };
    } catch (error) {
      throw this.#brokerFailed(
        error,
        `could not read the presence of ${JSON.stringify(frame.topic)}`,
      );
    }
  }

  async #publish(frame: PublishFrame): Promise<string> {
    const { topic, data, event, mid, store, echo } = frame;
    const options = {
      event,
      dedupeKey: mid,
      store,
      except: echo === false ? this.#ctx.clientId : undefined,
    };
    await this.endpoint.checkPublishTopic(topic, this.#ctx);
    try {
      // The schema first: a `publish` function sees its output, never data it would refuse.
      // Only a `publish` function sees the data: a list (or no rule) needs no extra step.
      const admit = this.endpoint.options.publishRuleSeesData
        ? (output: unknown) => this.endpoint.checkPublishData(topic, output, this.#ctx)
        : undefined;
      return await this.endpoint.topics.publish(topic, data, options, admit);
    } catch (error) {
      // Refused by the topic's schema (ValidationError: `invalid` with its issues) or the
      // rule; a schema that threw (SchemaError) or whose output is no JSON: `internal`, the
      // server's bug, logged once by #fail.
      if (isAnswer(error) || error instanceof SchemaError) throw error;
      if (error instanceof UnstorableOutputError) throw error;
      if (error instanceof TopicSegmentError) throw new ReplyError("invalid", error.message);
      // Checked only once publishing failed, so the data is not stringified twice.
      const unwritable = serialisingError(data);
      if (unwritable) {
        throw new ReplyError("invalid", `publish data cannot be stored as JSON: ${unwritable}`);
      }
      throw this.#brokerFailed(error, `could not publish to ${JSON.stringify(topic)}`);
    }
  }

  async #call(frame: CallFrame): Promise<void> {
    const { ref, method, params } = frame;
    const { methods, callTimeout } = this.endpoint.options;
    try {
      const result = await callMethod(
        methods,
        method,
        params,
        this.#ctx,
        callTimeout,
        this.#pendingCalls,
      );
      this.#send(okReply(ref, result));
    } catch (error) {
      this.#fail(ref, error, "call", method);
    }
  }

  /**
   * A new token, verified as the first was (see `socket.refreshAuth`): the reply says when it
   * expires. Refused (expired, invalid, another subject's): `forbidden`, and the connection
   * still closes with 4001 when the old one expires.
   */
  async #refresh(frame: RefreshFrame): Promise<void> {
    try {
      await this.socket.refreshAuth(frame.token);
    } catch (error) {
      const message = error instanceof Error ? error.message : "The token was refused";
      this.#send(errorReply(frame.ref, { code: "forbidden", message }));
      return;
    }
    this.#send(okReply(frame.ref, { expiresIn: expiresIn(this.socket.request) }));
  }

  /** The broker could not serve: `unavailable` for the client, a warning in the log. */
  #brokerFailed(error: unknown, what: string): ReplyError {
    logSafely(this.#ctx.request.log, "warn", { err: error }, `realtime: the broker ${what}`);
    return new ReplyError("unavailable", `The server ${what}; try again later`);
  }

  #fail(ref: Ref, error: unknown, kind: string, name: string): void {
    const body = errorBodyOf(
      error,
      kind === "call" ? `Method ${JSON.stringify(name)} failed` : `The ${kind} failed`,
    );
    if (!isAnswer(error)) {
      logSafely(
        this.#ctx.request.log,
        "error",
        { err: error, [kind === "call" ? "method" : "topic"]: name },
        `realtime ${kind} failed`,
      );
    }
    this.#send(errorReply(ref, body));
  }

  #unfollow(topic: string): void {
    const following = this.#following.get(topic);
    if (!following) return;
    this.#following.delete(topic);
    this.#stopFollowing(topic, following);
  }

  /** Stops delivery and leaves the presence (a failed leave expires by itself). */
  #stopFollowing(topic: string, following: Following): void {
    following.sink.stop();
    this.endpoint.topics.hub.detach(topic, following.attached);
    following.joined?.store.leave(topic, this.#ctx.clientId).catch(() => {});
  }

  #send(text: string): void {
    // A send refused because the socket closed is pre-handled: the session is ending.
    void this.socket.send(text);
  }

  readonly #end = (): void => {
    if (this.#ended) return;
    this.#ended = true;
    for (const topic of [...this.#following.keys()]) this.#unfollow(topic);
    for (const cancel of [...this.#pendingCalls]) cancel();
    this.#slotFreed?.();
  };
}

/**
 * Why JSON.stringify cannot write `data` back, or undefined. Data the frame's parse accepted
 * can still be nested too deep for it (a stack overflow): the client's mistake, so `invalid`,
 * not an `unavailable` it would retry forever.
 */
function serialisingError(data: unknown): string | undefined {
  try {
    JSON.stringify(data);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The frame rate limit as the welcome announces it, so clients pace themselves below it. */
function announcedRate(rate: MessageRate | false | undefined): WelcomeFrame["messageRate"] {
  return rate ? { messages: rate.messages, perMs: rate.perMs } : null;
}
