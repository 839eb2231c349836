import type { Logger } from "pino";
import type { Topics } from "../topics/topics.js";
import { logSafely } from "../util/logger.js";
import type { AccessCheck } from "./access-rule.js";
import type { RealtimeContext } from "./realtime-context.js";
import type { ResolvedRealtimeOptions } from "./realtime-options.js";
import { errorBodyOf, isAnswer, ReplyError } from "./reply-error.js";

/** What both transports of one `app.realtime()` endpoint share: its rules, the App's topics. */
export class RealtimeEndpoint {
  constructor(
    readonly path: string,
    readonly options: ResolvedRealtimeOptions,
    readonly topics: Topics,
    readonly logger: Logger,
  ) {}

  /** Throws a `forbidden` ReplyError unless the `subscribe` rule lets the client follow `topic`. */
  async checkSubscribe(topic: string, ctx: RealtimeContext<object>): Promise<void> {
    await this.#check(this.options.subscribe, "subscribe", topic, undefined, ctx);
  }

  /** Throws a `forbidden` ReplyError unless the `publish` rule lets the client publish `data`. */
  async checkPublish(topic: string, data: unknown, ctx: RealtimeContext<object>): Promise<void> {
    await this.#check(this.options.publish, "publish", topic, data, ctx);
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
