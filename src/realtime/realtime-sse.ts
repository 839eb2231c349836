import { HttpError } from "../http/http-error.js";
import { MAX_LAST_EVENT_ID_BYTES, type SluiceRequest } from "../http/request.js";
import type { StreamChunk } from "../http/streaming-response.js";
import { type ErrorCode, MAX_SSE_TOPICS } from "../protocol/frames.js";
import { SseResponse } from "../sse/sse-response.js";
import { isLiveOnlyMessage } from "../topics/live-only.js";
import { attachFrom } from "../topics/resume.js";
import { attachAtHead } from "../topics/subscribe-at.js";
import type { TopicSink } from "../topics/topic-hub.js";
import type { TopicMessage } from "../topics/topic-message.js";
import { connectionId } from "../util/connection-id.js";
import { logSafely } from "../util/logger.js";
import type { RealtimeContext } from "./realtime-context.js";
import type { RealtimeEndpoint } from "./realtime-endpoint.js";
import { ReplyError } from "./reply-error.js";
import { decodePosition, encodePositionEntry } from "./sse-position.js";

/** The HTTP status an SSE request gets for a rule's refusal, by its error code. */
const STATUS_OF_CODE: Readonly<Record<ErrorCode, number>> = {
  forbidden: 403,
  not_found: 404,
  invalid: 400,
  timeout: 504,
  unavailable: 503,
  internal: 500,
};

/** Messages that may wait for a slow SSE client before its stream is cut (it then resumes). */
const MAX_QUEUED = 1000;
const OPENING_COMMENT = ": sluice.v1\n\n";
const DONE: IteratorResult<StreamChunk> = { value: undefined, done: true };

/** A message queued for the stream; a replayed one does not count against MAX_QUEUED. */
interface Queued {
  readonly index: number;
  readonly message: TopicMessage;
  readonly replayed: boolean;
}

/**
 * The SSE side of an endpoint, `GET path?topic=a&topic=b`: checks the topics (400: none, over
 * 32, repeated; 403: one the `subscribe` rule refuses; nothing is streamed then), follows them
 * all from the Last-Event-ID's cursors, and streams once every topic is live.
 */
export function realtimeSseHandler(endpoint: RealtimeEndpoint) {
  return async (request: SluiceRequest): Promise<SseResponse<StreamChunk>> => {
    const topics = topicsOf(request);
    const ctx: RealtimeContext<object> = {
      request: request as RealtimeContext<object>["request"],
      clientId: connectionId(),
      socket: undefined,
    };
    await endpoint.options.onConnect?.(ctx);
    for (const topic of topics) {
      try {
        await endpoint.checkSubscribe(topic, ctx);
      } catch (error) {
        if (error instanceof ReplyError)
          throw new HttpError(STATUS_OF_CODE[error.code], error.message);
        throw error;
      }
    }
    const stream = new TopicsStream(
      endpoint,
      topics,
      decodePosition(request.lastEventId, topics.length),
      ctx.clientId,
    );
    request.signal.addEventListener("abort", stream.stop, { once: true });
    try {
      await stream.start();
    } catch (error) {
      stream.stop();
      if (error instanceof HttpError) throw error;
      logSafely(
        request.log,
        "warn",
        { err: error },
        "realtime SSE: the broker could not subscribe",
      );
      throw new HttpError(503, "The server could not subscribe to the topics; try again later");
    }
    return new SseResponse<StreamChunk>(stream, { ...endpoint.options.sse, encode: identity });
  };
}

/** The stream's items are whole SSE frames already. */
function identity(frame: StreamChunk): StreamChunk {
  return frame;
}

function topicsOf(request: SluiceRequest): string[] {
  const topics = request.query.getAll("topic");
  if (topics.length === 0 || topics.length > MAX_SSE_TOPICS) {
    throw new HttpError(
      400,
      `Name 1 to ${MAX_SSE_TOPICS} topics: ?topic=a&topic=b (got ${topics.length})`,
    );
  }
  const seen = new Set<string>();
  for (const topic of topics) {
    if (topic.length === 0 || topic.length > 1024) {
      throw new HttpError(400, "A topic must be a non-empty string of at most 1024 characters");
    }
    if (seen.has(topic))
      throw new HttpError(400, `The topic ${JSON.stringify(topic)} is named twice`);
    seen.add(topic);
  }
  return topics;
}

/**
 * The events of several topics as one stream of SSE frames, each with the stream's position
 * (every topic's cursor) as its id. A client that lets more than MAX_QUEUED live messages pile
 * up is cut off: it reconnects with its Last-Event-ID and resumes from the log. Each event is
 * its own `id:` line followed by the `event:`/`data:` bytes every subscriber of the message
 * shares (or, following one topic, the whole frame it shares).
 */
class TopicsStream implements AsyncIterableIterator<StreamChunk> {
  readonly #queue: (Queued | undefined)[] = [];
  #head = 0;
  /** Queued live messages: what MAX_QUEUED bounds. */
  #queuedLive = 0;
  readonly #attached: (TopicSink | undefined)[];
  /** Each topic's cursor as it goes into the position, encoded when it changed. */
  readonly #encoded: string[];
  /** The shared body of the event whose id line was just handed out. */
  #body: Buffer | undefined;
  #waiting: ((step: IteratorResult<StreamChunk>) => void) | undefined;
  #opened = false;
  #stopped = false;

  constructor(
    private readonly endpoint: RealtimeEndpoint,
    private readonly topics: readonly string[],
    private readonly cursors: (string | undefined)[],
    private readonly clientId: string,
  ) {
    this.#attached = topics.map(() => undefined);
    this.#encoded = topics.map(() => "");
  }

  /**
   * Follows every topic; resolves once all are live. Throws a 400 HttpError when the
   * starting position is already longer than a Last-Event-ID may be (a broker with long ids):
   * the client could never resume it.
   */
  async start(): Promise<void> {
    const { hub, broker } = this.endpoint.topics;
    await Promise.all(
      this.topics.map(async (topic, index) => {
        const sink: TopicSink = {
          clientId: this.clientId,
          receive: (message) => this.#push(index, message, false),
          receiveMissed: (messages) => {
            for (const message of messages) this.#push(index, message, true);
          },
        };
        const since = this.cursors[index];
        if (since !== undefined) {
          this.#attached[index] = await attachFrom(hub, broker, topic, since, sink);
        } else {
          const at = await attachAtHead(hub, broker, topic, sink);
          this.#attached[index] = at.sink;
          this.cursors[index] = at.position ?? undefined;
        }
        if (this.#stopped) this.#detach(index);
      }),
    );
    for (let index = 0; index < this.topics.length; index++) {
      this.#encodeCursor(index, this.cursors[index]);
    }
    const bytes = Buffer.byteLength(this.#position());
    if (bytes > MAX_LAST_EVENT_ID_BYTES) {
      throw new HttpError(
        400,
        `These topics' position takes ${bytes} bytes, over the ${MAX_LAST_EVENT_ID_BYTES} a Last-Event-ID may have: follow fewer topics per request`,
      );
    }
  }

  /**
   * The opening comment and the starting position as an id-only block: it sets the client's
   * last event id without an event, so a stream that drops before its first event resumes
   * from where it started rather than from the head.
   */
  #opening(): string {
    return `${OPENING_COMMENT}id: ${this.#position()}\n\n`;
  }

  next(): Promise<IteratorResult<StreamChunk>> {
    if (!this.#opened) {
      this.#opened = true;
      return Promise.resolve({ value: this.#opening(), done: false });
    }
    const body = this.#body;
    if (body) {
      this.#body = undefined;
      return Promise.resolve({ value: body, done: false });
    }
    if (this.#head < this.#queue.length)
      return Promise.resolve({ value: this.#take(), done: false });
    if (this.#stopped) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<StreamChunk>> {
    this.stop();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  readonly stop = (): void => {
    if (this.#stopped) return;
    this.#stopped = true;
    for (let index = 0; index < this.topics.length; index++) this.#detach(index);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(DONE);
  };

  #push(index: number, message: TopicMessage, replayed: boolean): void {
    if (this.#stopped || !this.#isSendable(message)) return;
    if (!replayed && this.#queuedLive >= MAX_QUEUED) {
      this.endpoint.logger.warn(
        { topic: message.topic, maxQueued: MAX_QUEUED },
        "realtime SSE client fell too far behind and was cut off; it resumes from its Last-Event-ID",
      );
      this.endpoint.topics.counters.slowConsumerCutoffs++;
      // What was queued still goes out; then the stream ends.
      this.#stopped = true;
      for (let topic = 0; topic < this.topics.length; topic++) this.#detach(topic);
      return;
    }
    this.#queue.push({ index, message, replayed });
    if (!replayed) this.#queuedLive++;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ value: this.#take(), done: false });
    }
  }

  /**
   * The next event: with one topic, the frame every subscriber shares; with several, its
   * `id:` line (the body goes out on the next pull).
   */
  #take(): StreamChunk {
    const { index, message, replayed } = this.#queue[this.#head] as Queued;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    if (!replayed) this.#queuedLive--;
    this.endpoint.topics.counters.deliveredSse++;
    // A live-only message moves no cursor, and goes out without an `id:` line.
    if (isLiveOnlyMessage(message)) return message.realtimeSseFrame;
    this.cursors[index] = message.id;
    if (this.topics.length === 1) return message.realtimeSseFrame;
    this.#encodeCursor(index, message.id);
    this.#body = message.realtimeSseBody;
    return `id: ${this.#position()}\n`;
  }

  #encodeCursor(index: number, cursor: string | undefined): void {
    this.#encoded[index] = cursor === undefined ? "" : encodePositionEntry(cursor);
  }

  /** The stream's position (sse-position.ts) from the encoded cursors. */
  #position(): string {
    return this.topics.length === 1 ? (this.cursors[0] ?? "") : this.#encoded.join(",");
  }

  /** False (logged) for a message whose stored text is not JSON: it is dropped, not sent. */
  #isSendable(message: TopicMessage): boolean {
    try {
      void message.data;
      return true;
    } catch (error) {
      logSafely(
        this.endpoint.logger,
        "error",
        { err: error, topic: message.topic, id: message.id },
        "realtime SSE: a stored message is not JSON; dropped",
      );
      return false;
    }
  }

  #detach(index: number): void {
    const attached = this.#attached[index];
    if (!attached) return;
    this.#attached[index] = undefined;
    this.endpoint.topics.hub.detach(this.topics[index] as string, attached);
  }
}
