import type { ServerResponse } from "node:http";
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { BatchedWriter } from "./batched-writer.js";
import { mergeHeaders } from "./headers.js";
import type { SluiceRequest } from "./request.js";
import { closeSource, openSource, type SourceIterator } from "./stream-source.js";
import type { StreamChunk, StreamingResponse } from "./streaming-response.js";

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
 * transfer, never a clean end that would look complete.
 */
export async function pumpStream<T>(
  request: SluiceRequest,
  response: ServerResponse,
  stream: StreamingResponse<T>,
  extraHeaders: Record<string, string>,
): Promise<void> {
  response.writeHead(
    stream.statusCode,
    mergeHeaders(STREAM_DEFAULT_HEADERS, stream.headers, extraHeaders),
  );
  response.flushHeaders();

  const source = openSource(stream.source);
  const signal = request.signal;
  const reportCloseError = (error: unknown) =>
    request.log.warn({ err: error }, "stream producer failed while being closed");
  if (request.method === "HEAD" || signal.aborted) {
    await closeSource(source, reportCloseError);
    finish(response, signal.aborted);
    return;
  }

  let sourceClosed: Promise<void> | undefined;
  const stop = () => {
    sourceClosed ??= closeSource(source, reportCloseError);
  };
  signal.addEventListener("abort", stop, { once: true });
  const writer = new BatchedWriter(response);
  try {
    const done = await pullAll(source, writer, response, signal, stream.encode);
    if (!done) stop();
    else writer.flush();
  } catch (error) {
    stop();
    if (!signal.aborted)
      request.log.error({ err: error }, "stream producer failed; response aborted");
    writer.discard();
    response.destroy();
  } finally {
    signal.removeEventListener("abort", stop);
  }
  await sourceClosed;
  finish(response, signal.aborted);
}

/** Pulls until the source is done (true) or the signal aborts (false). */
async function pullAll<T>(
  source: SourceIterator<T>,
  writer: BatchedWriter,
  response: ServerResponse,
  signal: AbortSignal,
  encode: ((item: T) => StreamChunk) | undefined,
): Promise<boolean> {
  const toChunk = encode ?? asChunk;
  while (!signal.aborted) {
    if (writer.needsDrain) {
      await drainOrAbort(response, signal);
      writer.needsDrain = false;
      continue;
    }
    const step = source.sync ? source.iterator.next() : await source.iterator.next();
    if (step.done) return true;
    if (signal.aborted) return false;
    const flushed = writer.push(toChunk(step.value as T));
    // A producer that never awaits real I/O must not starve the other connections.
    if (flushed && !writer.needsDrain) await nextMacrotask();
  }
  return false;
}

function asChunk(item: unknown): StreamChunk {
  if (typeof item === "string" || item instanceof Uint8Array) return item;
  throw new TypeError(
    `StreamingResponse items must be strings or Uint8Arrays, got ${item === null ? "null" : typeof item}; use ndjson() or an encode function for objects`,
  );
}

function drainOrAbort(response: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

function finish(response: ServerResponse, aborted: boolean): void {
  if (response.destroyed || response.writableEnded) return;
  if (aborted) response.destroy();
  else response.end();
}
