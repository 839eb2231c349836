import type { Logger } from "pino";
import { TopicSegmentError } from "../topics/topic-errors.js";
import { TopicPatterns } from "../topics/topic-pattern.js";
import type { Topics } from "../topics/topics.js";
import { logSafely } from "../util/logger.js";
import type { AccessCheck } from "./access-rule.js";
import type { RealtimeContext } from "./realtime-context.js";
import type { ResolvedRealtimeOptions } from "./realtime-options.js";
import { errorBodyOf, isAnswer, ReplyError } from "./reply-error.js";

/** What both transports of one `app.realtime()` endpoint share: its rules, the App's topics. */
export class RealtimeEndpoint {
  /** The contract's topics, when it has some: the only ones its clients may publish to. */
  readonly #contractTopics: TopicPatterns<true> | undefined;

  constructor(
    readonly path: string,
    readonly options: ResolvedRealtimeOptions,
    readonly topics: Topics,
    readonly logger: Logger,
  ) {
    const patterns = Object.keys(options.contract?.topics ?? {});
    if (patterns.length > 0) {
      this.#contractTopics = new TopicPatterns<true>();
      for (const pattern of patterns) this.#contractTopics.add(pattern, true);
    }
  }

  /** Throws a `forbidden` ReplyError unless the `subscribe` rule lets the client follow `topic`. */
  async checkSubscribe(topic: string, ctx: RealtimeContext<object>): Promise<void> {
    await this.#check(this.options.subscribe, "subscribe", topic, undefined, ctx);
  }

  /**
   * What is checked of a publish before its data is validated: a `publish` list (or its
   * absence) and the contract. Throws a `forbidden` ReplyError unless the list allows the
   * topic; with a contract that has topics, unless one of them covers it (`invalid` for a
   * topic that only a pattern's type covers, `chat:a:b` for `chat:*`).
   */
  async checkPublishTopic(topic: string, ctx: RealtimeContext<object>): Promise<void> {
    const { publish, publishRuleSeesData } = this.options;
    if (!publishRuleSeesData) await this.#check(publish, "publish", topic, undefined, ctx);
    const contractTopics = this.#contractTopics;
    if (contractTopics === undefined || contractTopics.match(topic)) return;
    const pattern = contractTopics.looseMatch(topic);
    if (pattern !== undefined) {
      throw new ReplyError("invalid", new TopicSegmentError(topic, pattern).message);
    }
    throw new ReplyError(
      "forbidden",
      `${JSON.stringify(topic)} is not a topic of this endpoint's contract`,
    );
  }

  /**
   * A `publish` function, run on the data its topic's schema gave (its output): throws a
   * `forbidden` ReplyError unless it allows it.
   */
  async checkPublishData(
    topic: string,
    output: unknown,
    ctx: RealtimeContext<object>,
  ): Promise<void> {
    const { publish, publishRuleSeesData } = this.options;
    if (publishRuleSeesData) await this.#check(publish, "publish", topic, output, ctx);
  }

  async #check(
    rule: AccessCheck,
    kind: "subscribe" | "publish",
    topic: string,
    data: unknown,
    ctx: RealtimeContext<object>,
  ): Promise<void> {
    let allowed: unknown;
    try {
      allowed = await rule(topic, data, ctx);
    } catch (error) {
      // A rule may refuse with its reason, as a method does: an HttpError's message goes to
      // the client with the code of its status (a 403 is "forbidden").
      if (isAnswer(error)) {
        const { code, message } = errorBodyOf(error, "");
        throw new ReplyError(code, message);
      }
      logSafely(
        ctx.request.log,
        "error",
        { err: error, topic, path: this.path },
        `the realtime ${kind} rule failed`,
      );
      throw new ReplyError("internal", `The ${kind} rule failed`);
    }
    if (allowed !== true) {
      throw new ReplyError("forbidden", `Not allowed to ${kind} to ${JSON.stringify(topic)}`);
    }
  }
}
