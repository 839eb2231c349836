import { expiryDeadline } from "../http/credentials.js";
import { mergeHeaders } from "../http/headers.js";
import { isHttpError } from "../http/http-error.js";
import {
  flushHead,
  isHttp1,
  type NodeResponse,
  responseDestroyed,
  responseNeedsDrain,
} from "../http/node-http.js";
import { type AbortListener, RequestAbortedError, type SluiceRequest } from "../http/request.js";
import { cancelSource, openSource, type SourceIterator } from "../http/stream-source.js";
import type {
  StreamChunk,
  StreamingResponse,
  StreamLifecycle,
} from "../http/streaming-response.js";
import type { Deadline } from "../util/deadline.js";
import { logSafely } from "../util/logger.js";
import { BatchedWriter } from "./batched-writer.js";
import { type Flushable, queueFlush } from "./flush-queue.js";
import { startKeepAlive, stopKeepAlive } from "./keep-alive.js";
import { cutIfNeverTaken } from "./stalled-finish.js";

/** How long a producer that never waits on I/O may hold the event loop, checked every so often. */
const MAX_BUSY_MS = 5;
const PULLS_BETWEEN_CLOCK_CHECKS = 256;

const STREAM_DEFAULT_HEADERS = {
  "content-type": "application/octet-stream",
  // Browsers hold back the first bytes of a text response to sniff its type, and nginx buffers
  // whole responses: both would stall a stream.
  "x-content-type-options": "nosniff",
  "x-accel-buffering": "no",
};

/**
 * Sends a StreamingResponse: headers at once, then items as they are produced, pausing the
 * producer while the socket is full. When the request aborts (client gone, app closing) or
 * the producer throws, the response is destroyed so the client sees a truncated transfer,
 * never a clean end that would look complete; a lifecycle with `endCleanly` (SSE, whose
 * events stand on their own) ends it properly instead. `owner` hears how it ends.
 */
export function sendStream<T>(
  request: SluiceRequest,
  response: NodeResponse,
  stream: StreamingResponse<T>,
  extraHeaders: Record<string, string | string[]>,
  owner: StreamOwner,
): StreamSending {
  // Opened first: a source that cannot be iterated throws here, to the caller.
  const source = openSource(stream.source);
  const pump = new StreamPump(request, response, stream, source, extraHeaders, owner);
  pump.begin();
  return pump;
}

/**
 * Told how a stream ends, instead of through a promise and the reactions on it, which an open
 * stream (an idle SSE connection) would hold for its whole life.
 */
export interface StreamOwner {
  /** The stream failed before its head went out (a refusal, an invalid head), or at its end. */
  fail(request: SluiceRequest, error: unknown): void;
  /** The stream is over, once, after `fail()` if it failed: maybe within sendStream() itself. */
  streamEnded(request: SluiceRequest, sending: StreamSending): void;
}

/** A stream being sent. */
export interface StreamSending {
  readonly ended: boolean;
  /**
   * Fulfils (never rejects) once the stream has ended: made when first asked for (by
   * `app.close()` waiting for it, say), not for every stream.
   */
  whenEnded(): Promise<void>;
}

/**
 * - opening: the producer has its first pull, the head is not out yet;
 * - streaming: the head is out, items follow;
 * - refused: the head was not sent (the producer refused, or the head was invalid);
 * - ended: pulling is over, the response ended or is ending.
 */
type PumpState = "opening" | "streaming" | "refused" | "ended";

/**
 * One stream being sent, as a state machine driven by callbacks rather than an async
 * function: while it waits for its producer (an SSE stream between events) it holds no
 * suspended frame, only this object, its writer and one reaction on the producer's pending
 * promise, whose callbacks carry on from there. An idle stream is cheap.
 */
class StreamPump<T> implements AbortListener, Flushable, StreamSending {
  private readonly source: SourceIterator<T>;
  private readonly lifecycle: StreamLifecycle;
  private readonly encode: ((item: T) => StreamChunk) | undefined;
  private readonly writer: BatchedWriter;
  /** The response whose head is to be sent, until it is. */
  private head: StreamingResponse<T> | undefined;
  private state: PumpState = "opening";
  /** The producer ended (or threw) by itself: like `for await`, it gets no `return()` call. */
  private exhausted = false;
  /** The request aborted: pulling stops. */
  private stopped = false;
  private finished = false;
  private cancelled: Promise<void> | undefined;
  /** Items pulled, and when the event loop last had a turn: see write(). */
  private pulls = 0;
  private lastTurn = performance.now();
  /** Ends the stream when the request's credentials expire; undefined when they never do. */
  private expiry: Deadline | undefined;
  /** Ends a wait for 'drain' early, when the request aborts. */
  private wakeFromDrain: (() => void) | undefined;
  /** The callbacks of every pending pull, made once. */
  private onStep: ((step: IteratorResult<T>) => void) | undefined;
  private onError: ((error: unknown) => void) | undefined;
  /** Over: the owner was told. */
  ended = false;
  /** Made when `whenEnded()` is first called. */
  private endedPromise: Promise<void> | undefined;
  private resolveWhenEnded: (() => void) | undefined;

  constructor(
    private readonly request: SluiceRequest,
    private readonly response: NodeResponse,
    stream: StreamingResponse<T>,
    source: SourceIterator<T>,
    private readonly extraHeaders: Record<string, string | string[]>,
    private readonly owner: StreamOwner,
  ) {
    this.source = source;
    this.lifecycle = stream.lifecycle;
    this.encode = stream.encode;
    this.writer = new BatchedWriter(response);
    this.head = stream;
  }

  /**
   * Asks for the first item before the head goes out and gives the producer up to one
   * macrotask to answer, so one that fails at once (an HttpError thrown before its first
   * yield) is known before anything is sent. One still waiting gets the head then; its item
   * follows when it comes.
   */
  begin(): void {
    const { source } = this;
    if (this.request.method === "HEAD") {
      if (this.sendHead()) {
        this.endAfterHead().then(
          () => this.settle(),
          (error) => this.settleFailed(error),
        );
      }
      return;
    }
    let first: IteratorResult<T>;
    try {
      if (!source.sync) {
        this.pullLater(source.iterator);
        queueFlush(this); // one setImmediate for the heads of every stream opened in this turn
        return;
      }
      first = this.pullNow(source.iterator);
    } catch (error) {
      this.failed(error);
      return;
    }
    this.stepped(first);
  }

  /**
   * On abort the response ends at once, even while a pull is pending: a producer awaiting
   * something that ignores the signal must not hold the client (or a clean SSE end) hostage.
   * Its `finally` still gets its chance through cancel(), which `app.close()` waits for.
   */
  requestAborted(): void {
    this.stopped = true;
    void this.cancel();
    this.finishOnce();
    this.wakeFromDrain?.();
  }

  /**
   * The credentials the stream was opened with expired: its last words (an SSE stream's
   * `event: expired`), then it ends as on a disconnect: the request's signal aborts, the
   * producer is cancelled, and the response is cut short (an NDJSON or plain stream, so the
   * client sees a failed transfer, not a complete one) or ends cleanly (SSE).
   */
  private credentialsExpired(): void {
    this.expiry = undefined;
    if (this.state !== "streaming") return;
    const notice = this.lifecycle.expired?.();
    if (notice !== undefined) this.writer.push(notice);
    logSafely(this.request.log, "debug", {}, "credentials expired; stream ended");
    this.request.abort("credentials-expired");
  }

  /** The end of the turn the stream began in: its head goes out now if it has not yet. */
  flushScheduled(): void {
    this.open();
  }

  /** Sends the head and starts streaming, once; false when the head was refused. */
  private open(): boolean {
    if (this.head === undefined) return this.state === "streaming";
    if (!this.sendHead()) return false;
    this.state = "streaming";
    this.start();
    return true;
  }

  /** The producer answered a pull: write its item and go on. */
  private stepped(step: IteratorResult<T>): void {
    if (this.open()) this.pull(step);
  }

  /** The producer threw. */
  private failed(error: unknown): void {
    this.exhausted = true;
    // Nothing was sent yet: the app answers with the error's status (a 404 for an unknown
    // channel, say) instead of a 200 cut short. A stream that ends cleanly on failure (SSE)
    // keeps that for deliberate refusals: after any other error its client must reconnect,
    // which EventSource does only after a 200.
    if (this.state === "opening" && (!this.lifecycle.endCleanly || isHttpError(error))) {
      this.head = undefined;
      this.state = "refused";
      this.settleFailed(error);
      return;
    }
    if (this.open()) this.stop({ error });
  }

  /**
   * Writes the item just produced, if any, then pulls and writes until it must wait: for the
   * producer, for 'drain' or for a turn of the event loop (each calls this again), or until
   * the stream is over.
   */
  private pull(arrived?: IteratorResult<T>): void {
    if (this.state !== "streaming") return;
    let step = arrived;
    try {
      for (;;) {
        if (step !== undefined) {
          if (step.done) {
            this.exhausted = true;
            break;
          }
          if (this.stopped) break;
          const turn = this.write(step.value);
          step = undefined;
          if (turn) {
            this.giveTurn();
            return;
          }
        }
        if (this.stopped || responseDestroyed(this.response)) break;
        if (responseNeedsDrain(this.response)) {
          this.awaitDrain();
          return;
        }
        const { source } = this;
        if (!source.sync) {
          this.pullLater(source.iterator);
          return;
        }
        step = this.pullNow(source.iterator);
      }
    } catch (error) {
      this.stop({ error });
      return;
    }
    this.stop(undefined);
  }

  private pullNow(iterator: Iterator<T>): IteratorResult<T> {
    try {
      return iterator.next();
    } catch (error) {
      this.exhausted = true;
      throw error;
    }
  }

  private pullLater(iterator: AsyncIterator<T>): void {
    let pending: Promise<IteratorResult<T>> | IteratorResult<T>;
    try {
      pending = iterator.next();
    } catch (error) {
      this.exhausted = true;
      throw error;
    }
    this.onStep ??= this.stepped.bind(this);
    this.onError ??= this.failed.bind(this);
    // Like `for await`, accept an iterator whose next() returns a plain result or a thenable.
    Promise.resolve(pending).then(this.onStep, this.onError);
  }

  /**
   * Queues an item; true when the loop should give the event loop a turn: after a full batch,
   * or when a producer that never waits on I/O (or yields only empty chunks) has held it for
   * a few ms, so it cannot starve the other connections.
   */
  private write(item: T): boolean {
    const flushed = this.writer.push(this.chunkOf(item));
    const busy =
      ++this.pulls % PULLS_BETWEEN_CLOCK_CHECKS === 0 &&
      performance.now() - this.lastTurn > MAX_BUSY_MS;
    return (flushed || busy) && !responseNeedsDrain(this.response);
  }

  private chunkOf(item: T): StreamChunk {
    return asChunk(this.encode ? this.encode(item) : item);
  }

  /** Goes on pulling after the event loop has had a turn (I/O and the other connections). */
  private giveTurn(): void {
    setImmediate(() => {
      this.lastTurn = performance.now();
      this.pull();
    });
  }

  /**
   * Pulling is over: ends the response (the client learns at once; a slow or stuck `finally`
   * must not hold it open), then settles once the producer is cancelled.
   */
  private stop(failure: { error: unknown } | undefined): void {
    if (this.state === "ended") return;
    this.state = "ended";
    try {
      let outcome = failure;
      if (outcome === undefined) {
        try {
          if (this.writer.failure) throw this.writer.failure;
          this.writer.flush();
        } catch (error) {
          outcome = { error };
        }
      }
      if (outcome !== undefined) this.logFailure(outcome.error);
      this.request.abortListener = undefined;
      this.finishOnce(outcome);
    } catch (error) {
      this.settleFailed(error);
      return;
    }
    if (!this.exhausted || this.cancelled) this.cancel().then(() => this.settle());
    else this.settle();
  }

  /**
   * Sends the head, then lets go of the response it came from (an idle stream keeps no
   * headers); false when it was refused: the pump then fails, once the producer is cancelled.
   */
  private sendHead(): boolean {
    const stream = this.head;
    this.head = undefined;
    if (stream === undefined) return false;
    try {
      const headers = mergeHeaders(STREAM_DEFAULT_HEADERS, stream.headers, this.extraHeaders);
      this.response.writeHead(stream.statusCode, headers);
      flushHead(this.response);
      return true;
    } catch (error) {
      this.state = "refused";
      // A Readable holding a file must not leak when the head is refused.
      this.cancel().then(() => this.settleFailed(error));
      return false;
    }
  }

  /** HEAD: the head alone; the producer never started. */
  private async endAfterHead(): Promise<void> {
    this.state = "ended";
    await this.cancel();
    this.response.end();
  }

  /** The head is out: keep-alives, the count of open streams, the abort notice, the preamble. */
  private start(): void {
    const { request, lifecycle } = this;
    if (lifecycle.keepAlive) startKeepAlive(this.writer, lifecycle.keepAlive);
    if (lifecycle.countsAs) request.openStreams[lifecycle.countsAs]++;
    request.abortListener = this;
    this.expiry = expiryDeadline(request, () => this.credentialsExpired());
    if (lifecycle.preamble !== undefined) this.writer.push(lifecycle.preamble);
    // Aborted while the producer had its first pull: handled like an abort from now on.
    if (request.abortedBecause !== undefined) this.requestAborted();
  }

  /** Ends as failed: the owner answers the error, then hears the stream is over. */
  private settleFailed(error: unknown): void {
    try {
      this.owner.fail(this.request, error);
    } finally {
      this.settle();
    }
  }

  /** The stream is over: its owner, and whoever waits on `whenEnded()`, are told (once). */
  private settle(): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveWhenEnded?.();
    this.owner.streamEnded(this.request, this);
  }

  whenEnded(): Promise<void> {
    this.endedPromise ??= this.ended
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.resolveWhenEnded = resolve;
        });
    return this.endedPromise;
  }

  private cancel(): Promise<void> {
    this.cancelled ??= cancelSource(this.source, (error) =>
      logSafely(
        this.request.log,
        "warn",
        { err: error },
        "stream producer failed while being cancelled",
      ),
    );
    return this.cancelled;
  }

  private logFailure(error: unknown): void {
    if (this.request.abortedBecause !== undefined) {
      // Stopping because the request aborted is no failure; an error of the producer's own on
      // the way out (its `finally` threw) is, as when `return()` throws: see cancel().
      if (!isAbortReaction(error)) {
        logSafely(
          this.request.log,
          "warn",
          { err: error },
          "stream producer failed while being cancelled",
        );
      }
      return;
    }
    logSafely(
      this.request.log,
      "error",
      { err: error },
      this.lifecycle.endCleanly
        ? "stream producer failed; stream ended"
        : "stream producer failed; response aborted",
    );
  }

  private finishOnce(failure?: { error: unknown }): void {
    if (this.finished) return;
    this.finished = true;
    const { lifecycle } = this;
    if (lifecycle.countsAs) this.request.openStreams[lifecycle.countsAs]--;
    if (lifecycle.keepAlive) stopKeepAlive(this.writer, lifecycle.keepAlive);
    this.expiry?.cancel();
    this.end(failure);
  }

  /**
   * Ends the response once pulling stopped: cleanly when the producer ended, cut short when it
   * failed or was stopped (unless the lifecycle says its items stand on their own).
   */
  private end(failure: { error: unknown } | undefined): void {
    const { request, response, writer, lifecycle } = this;
    const aborted = request.abortedBecause !== undefined;
    if (
      responseDestroyed(response) ||
      ((failure !== undefined || aborted) && !lifecycle.endCleanly)
    ) {
      writer.abort();
      return;
    }
    if (failure && lifecycle.farewell && !aborted) {
      try {
        const farewell = lifecycle.farewell(failure.error, request);
        if (farewell !== undefined) writer.push(farewell);
      } catch (error) {
        logSafely(request.log, "error", { err: error }, "the stream's farewell failed");
      }
    }
    writer.flush();
    if (!response.writableEnded) response.end();
    cutIfNeverTaken(response, request.sendTimeout);
  }

  /** Goes on pulling once the response or its socket (written directly) drained, or ended. */
  private awaitDrain(): void {
    const { response } = this;
    // HTTP/1.1 chunks may be written to the socket directly (write-chunk.ts): its 'drain'
    // counts too. An h2 response relays its stream's 'drain' itself.
    const socket = isHttp1(response) ? response.socket : null;
    // A client that takes nothing at all for sendTimeout ms is cut (as nginx's send_timeout):
    // dead, frozen or hostile, it would hold its connection and the queued bytes for ever.
    const timeoutMs = this.request.sendTimeout;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (this.wakeFromDrain !== done) return;
            this.request.counters.slowConsumerCutoffs++;
            logSafely(
              this.request.log,
              "info",
              { sendTimeout: timeoutMs },
              "the client took nothing for sendTimeout ms; connection cut",
            );
            response.destroy();
          }, timeoutMs)
        : undefined;
    timer?.unref();
    const done = () => {
      // Once: the response's 'drain' comes from its socket's, whose emit still calls this.
      if (this.wakeFromDrain !== done) return;
      clearTimeout(timer);
      response.off("drain", done);
      response.off("close", done);
      socket?.off("drain", done);
      this.wakeFromDrain = undefined;
      // A write the kernel took at once emits 'drain' from process.nextTick, in this same
      // turn: without a real turn here, a client that keeps up would let one stream hold
      // the event loop for the whole download.
      this.giveTurn();
    };
    response.on("drain", done);
    response.on("close", done);
    socket?.on("drain", done);
    this.wakeFromDrain = done;
  }
}

/** The error a producer stopped by its request's signal ends with: the reason, or an AbortError. */
function isAbortReaction(error: unknown): boolean {
  return (
    error instanceof RequestAbortedError || (error instanceof Error && error.name === "AbortError")
  );
}

function asChunk(item: unknown): StreamChunk {
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(
    `StreamingResponse items must be strings or Uint8Arrays, got ${item === null ? "null" : typeof item}; use ndjson() or an encode function for objects`,
  );
}
