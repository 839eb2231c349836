import type { ServerResponse } from "node:http";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { BatchedWriter } from "./batched-writer.js";
import { needsDrain } from "./direct-chunk.js";
import { mergeHeaders } from "./headers.js";
import { isHttpError } from "./http-error.js";
import { keepAlive } from "./keep-alive.js";
import type { SluiceRequest } from "./request.js";
import { cancelSource, openSource, type SourceIterator } from "./stream-source.js";
import type { StreamChunk, StreamingResponse, StreamLifecycle } from "./streaming-response.js";

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
 * producer while the socket is full. When the request's signal aborts (client gone, app
 * closing) or the producer throws, the response is destroyed so the client sees a truncated
 * transfer, never a clean end that would look complete; a lifecycle with `endCleanly` (SSE,
 * whose events stand on their own) ends it properly instead.
 */
export async function pumpStream<T>(
  request: SluiceRequest,
  response: ServerResponse,
  stream: StreamingResponse<T>,
  extraHeaders: Record<string, string | string[]>,
): Promise<void> {
  const source = openSource(stream.source);
  let cancelled: Promise<void> | undefined;
  const cancel = () => {
    cancelled ??= cancelSource(source, (error) =>
      request.log.warn({ err: error }, "stream producer failed while being cancelled"),
    );
    return cancelled;
  };
  // `stopped` mirrors signal.aborted: the loop checks it per item, and the getter is not free.
  const progress = { exhausted: false, stopped: false };
  let first: FirstStep<T> | undefined;
  if (request.method !== "HEAD") {
    first = await pullFirst(source);
    // Nothing was sent yet: the app answers with the error's status (a 404 for an unknown
    // channel, say) instead of a 200 cut short. A stream that ends cleanly on failure (SSE)
    // keeps that for deliberate refusals: after any other error its client must reconnect,
    // which EventSource does only after a 200.
    if ("error" in first && (!stream.lifecycle.endCleanly || isHttpError(first.error))) {
      progress.exhausted = true;
      throw first.error;
    }
  }
  try {
    const headers = mergeHeaders(STREAM_DEFAULT_HEADERS, stream.headers, extraHeaders);
    response.writeHead(stream.statusCode, headers);
    response.flushHeaders();
  } catch (error) {
    await cancel(); // a Readable holding a file must not leak when the head is refused
    throw error;
  }
  if (request.method === "HEAD") {
    await cancel();
    response.end();
    return;
  }

  const signal = request.signal;
  const writer = new BatchedWriter(response);
  const { lifecycle } = stream;
  const idle = lifecycle.keepAlive;
  const stopKeepAlive = idle
    ? keepAlive(writer, response, idle.idleMs, idle.chunk, idle.ready)
    : undefined;
  const counted = lifecycle.countsAs;
  if (counted) request.openStreams[counted]++;
  let finished = false;
  const finishOnce = (failure?: { error: unknown }) => {
    if (finished) return;
    finished = true;
    if (counted) request.openStreams[counted]--;
    stopKeepAlive?.();
    finish(request, response, writer, lifecycle, failure);
  };
  // On abort the response ends at once, even while a pull is pending: a producer awaiting
  // something that ignores the signal must not hold the client (or a clean SSE end) hostage.
  // Its `finally` still gets its chance through cancel(), which close() waits for.
  const onAbort = () => {
    progress.stopped = true;
    void cancel();
    finishOnce();
  };
  progress.stopped = signal.aborted;
  signal.addEventListener("abort", onAbort, { once: true });
  if (lifecycle.preamble !== undefined) writer.push(lifecycle.preamble);
  let failure: { error: unknown } | undefined;
  try {
    await pullAll(source, writer, response, signal, stream.encode, progress, first);
    writer.flush();
  } catch (error) {
    failure = { error };
    if (!signal.aborted)
      request.log.error(
        { err: error },
        lifecycle.endCleanly
          ? "stream producer failed; stream ended"
          : "stream producer failed; response aborted",
      );
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  // The client learns at once; a slow or stuck `finally` must not hold the response open.
  finishOnce(failure);
  // Like `for await`: a source that ended (or threw) by itself gets no `return()` call.
  if (!progress.exhausted || cancelled) await cancel();
}

/**
 * Ends the response once pulling stopped: cleanly when the producer ended, cut short when it
 * failed or was stopped (unless the lifecycle says its items stand on their own).
 */
function finish(
  request: SluiceRequest,
  response: ServerResponse,
  writer: BatchedWriter,
  lifecycle: StreamLifecycle,
  failure: { error: unknown } | undefined,
): void {
  const stoppedEarly = failure !== undefined || request.signal.aborted;
  if (response.destroyed || (stoppedEarly && !lifecycle.endCleanly)) {
    writer.abort();
    return;
  }
  if (failure && lifecycle.farewell && !request.signal.aborted) {
    try {
      const farewell = lifecycle.farewell(failure.error, request);
      if (farewell !== undefined) writer.push(farewell);
    } catch (error) {
      request.log.error({ err: error }, "the stream's farewell failed");
    }
  }
  writer.flush();
  if (!response.writableEnded) response.end();
}

/** The producer's first step: taken, failed, or still on its way. */
type FirstStep<T> =
  | { settled: true; step: IteratorResult<T> }
  | { settled: false; step: Promise<IteratorResult<T>> }
  | { error: unknown };

/**
 * Asks for the first item before the head goes out and gives the producer one macrotask to
 * answer, so one that fails at once (an HttpError thrown before its first yield) is known
 * before anything is sent. One still waiting gets the head at once; its item follows later.
 */
async function pullFirst<T>(source: SourceIterator<T>): Promise<FirstStep<T>> {
  let pending: Promise<IteratorResult<T>>;
  try {
    if (source.sync) return { settled: true, step: source.iterator.next() };
    // Like `for await`, accept an iterator whose next() returns a plain result or a thenable.
    pending = Promise.resolve(source.iterator.next());
  } catch (error) {
    return { error };
  }
  let outcome: { step: IteratorResult<T> } | { error: unknown } | undefined;
  pending.then(
    (step) => {
      outcome = { step };
    },
    (error) => {
      outcome = { error };
    },
  );
  await nextMacrotask();
  if (outcome === undefined) return { settled: false, step: pending };
  if ("error" in outcome) return outcome;
  return { settled: true, step: outcome.step };
}

/** Pulls until the source is done, the signal aborts or the response is gone. */
async function pullAll<T>(
  source: SourceIterator<T>,
  writer: BatchedWriter,
  response: ServerResponse,
  signal: AbortSignal,
  encode: ((item: T) => StreamChunk) | undefined,
  progress: { exhausted: boolean; stopped: boolean },
  first: FirstStep<T> | undefined,
): Promise<void> {
  let taken = first;
  const toChunk = encode ? (item: T) => asChunk(encode(item)) : asChunk;
  let pulls = 0;
  let lastTurn = performance.now();
  while (!progress.stopped && !response.destroyed) {
    if (needsDrain(response)) {
      await drainOrAbort(response, signal);
      // A write the kernel took at once emits 'drain' from process.nextTick, in this same
      // turn: without a real turn here, a client that keeps up would let one stream hold
      // the event loop for the whole download.
      await nextMacrotask();
      lastTurn = performance.now();
      continue;
    }
    let step: IteratorResult<T>;
    try {
      if (taken) {
        const first = taken;
        taken = undefined;
        if ("error" in first) throw first.error;
        step = first.settled ? first.step : await first.step;
      } else step = source.sync ? source.iterator.next() : await source.iterator.next();
    } catch (error) {
      progress.exhausted = true;
      throw error;
    }
    if (step.done) {
      progress.exhausted = true;
      break;
    }
    if (progress.stopped) break;
    const flushed = writer.push(toChunk(step.value as T));
    // A producer that never awaits real I/O (or yields only empty chunks) must not starve
    // the other connections: give the event loop a turn after a full batch or a few ms.
    const busy =
      ++pulls % PULLS_BETWEEN_CLOCK_CHECKS === 0 && performance.now() - lastTurn > MAX_BUSY_MS;
    if ((flushed || busy) && !needsDrain(response)) {
      await nextMacrotask();
      lastTurn = performance.now();
    }
  }
  if (writer.failure) throw writer.failure;
}

function asChunk(item: unknown): StreamChunk {
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(
    `StreamingResponse items must be strings or Uint8Arrays, got ${item === null ? "null" : typeof item}; use ndjson() or an encode function for objects`,
  );
}

/** Waits for the response or its socket (written directly) to drain, or for the end. */
function drainOrAbort(response: ServerResponse, signal: AbortSignal): Promise<void> {
  const socket = response.socket;
  return new Promise<void>((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      socket?.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
    socket?.on("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
