import { cutShort } from "../http/cut-short.js";
import { type NodeResponse, responseDestroyed, writeBody } from "../http/node-http.js";
import type { StreamChunk } from "../http/streaming-response.js";
import { type Flushable, queueFlush } from "./flush-queue.js";
import { writeChunk } from "./write-chunk.js";

/** Past this many pending bytes a batch is written at once instead of at the end of the tick. */
const MAX_BATCH_BYTES = 64 * 1024;
/** Buffers at least this large on average are written as they are (corked), not copied. */
const COPY_BELOW_AVERAGE_BYTES = 4096;

/**
 * Collects the chunks produced within one tick and writes them as one chunk of the response:
 * an NDJSON stream of small rows costs one write (and one chunk header) per batch, not per
 * row, while a chunk produced alone is still written in the same tick it was produced.
 */
export class BatchedWriter implements Flushable {
  /** A failure of a write made outside the producer's loop (end-of-tick flush, keep-alive). */
  failure: unknown;
  /** `performance.now()` of the last write to the response (or of the writer's creation). */
  lastWriteAt = performance.now();
  /** Chunks waiting for the end of the tick; none (no array) while idle. */
  private pending: StreamChunk[] | undefined;
  private pendingBytes = 0;
  private pendingAllStrings = true;
  private flushQueued = false;

  constructor(readonly response: NodeResponse) {}

  /** Queues a chunk; returns true when the batch was full and has been written now. */
  push(chunk: StreamChunk): boolean {
    if (!this.append(chunk)) return false;
    if (this.pendingBytes >= MAX_BATCH_BYTES) {
      this.flush();
      return true;
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueFlush(this);
    }
    return false;
  }

  /**
   * Writes `chunk` now, after whatever is pending (a keep-alive comment); a failure is kept
   * for the producer's loop to report, as for an end-of-tick flush.
   */
  writeNow(chunk: StreamChunk): void {
    this.append(chunk);
    this.flushGuarded();
  }

  /** The end-of-tick flush. */
  flushScheduled(): void {
    this.flushQueued = false;
    this.flushGuarded();
  }

  flush(): void {
    const { pending } = this;
    if (pending === undefined) return;
    const { response } = this;
    const allStrings = this.pendingAllStrings;
    const averageBytes = this.pendingBytes / pending.length;
    const batch = this.takeBatch(pending);
    if (responseDestroyed(response) || response.writableEnded) return;
    this.lastWriteAt = performance.now();
    if (batch.length === 1) writeChunk(response, batch[0]);
    else if (allStrings) writeChunk(response, (batch as string[]).join(""));
    else if (averageBytes < COPY_BELOW_AVERAGE_BYTES)
      writeChunk(response, Buffer.concat(batch.map(asBytes)), false);
    else {
      // Large buffers are not copied: corked writes leave the socket as one writev.
      response.cork();
      for (const chunk of batch) writeBody(response, chunk);
      response.uncork();
    }
  }

  /**
   * Cuts the response short (no chunked terminator, so the client sees a truncated transfer)
   * after what was produced before the failure has reached the socket: nothing the producer
   * handed over is dropped. A peer that does not read is cut after `graceMs` regardless.
   */
  abort(graceMs = 1000): void {
    const { response } = this;
    if (responseDestroyed(response)) return;
    const { pending } = this;
    if (pending === undefined || response.writableEnded) {
      cutShort(response);
      return;
    }
    const timer = setTimeout(() => cutShort(response), graceMs);
    timer.unref();
    const batch = this.takeBatch(pending);
    const last = batch.pop() as StreamChunk;
    for (const chunk of batch) writeBody(response, chunk);
    writeBody(response, last, () => {
      clearTimeout(timer);
      cutShort(response);
    });
  }

  /** Adds a chunk to the batch without scheduling its write; false for an empty one. */
  private append(chunk: StreamChunk): boolean {
    if (chunk.length === 0) return false;
    if (this.pending === undefined) this.pending = [chunk];
    else this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (typeof chunk !== "string") this.pendingAllStrings = false;
    return true;
  }

  /** A flush whose failure is kept for the producer's loop to report. */
  private flushGuarded(): void {
    try {
      this.flush();
    } catch (error) {
      this.failure ??= error;
      this.response.destroy();
    }
  }

  private takeBatch(pending: StreamChunk[]): StreamChunk[] {
    this.pending = undefined;
    this.pendingBytes = 0;
    this.pendingAllStrings = true;
    return pending;
  }
}

function asBytes(chunk: StreamChunk): Uint8Array {
  return typeof chunk === "string" ? Buffer.from(chunk) : chunk;
}
