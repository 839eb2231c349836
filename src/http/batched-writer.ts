import type { ServerResponse } from "node:http";
import type { StreamChunk } from "./streaming-response.js";

/** Past this many pending bytes a batch is written at once instead of at the end of the tick. */
const MAX_BATCH_BYTES = 64 * 1024;

/**
 * Collects the chunks produced within one tick and writes them as one chunk of the response:
 * an NDJSON stream of small rows costs one write (and one chunk header) per batch, not per
 * row, while a chunk produced alone is still written in the same tick it was produced.
 */
export class BatchedWriter {
  /** True after a write returned false: the producer must wait for 'drain'. */
  needsDrain = false;
  private pending: StreamChunk[] = [];
  private pendingBytes = 0;
  private pendingAllStrings = true;
  private flushScheduled = false;
  private readonly scheduledFlush = () => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(private readonly response: ServerResponse) {}

  /** Queues a chunk; returns true when the batch was full and has been written now. */
  push(chunk: StreamChunk): boolean {
    if (chunk.length === 0) return false;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (typeof chunk !== "string") this.pendingAllStrings = false;
    if (this.pendingBytes >= MAX_BATCH_BYTES) {
      this.flush();
      return true;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
    return false;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const allStrings = this.pendingAllStrings;
    const batch = this.takeBatch();
    const { response } = this;
    if (response.destroyed || response.writableEnded) return;
    if (allStrings) {
      if (!response.write((batch as string[]).join(""))) this.needsDrain = true;
      return;
    }
    // Bytes are not copied into one buffer: corked writes leave the socket as one writev.
    response.cork();
    for (const chunk of batch) if (!response.write(chunk)) this.needsDrain = true;
    response.uncork();
  }

  /**
   * Cuts the response short (no chunked terminator, so the client sees a truncated transfer)
   * after what was produced before the failure has reached the socket: nothing the producer
   * handed over is dropped. A peer that does not read is cut after `graceMs` regardless.
   */
  abort(graceMs = 1000): void {
    const { response } = this;
    if (response.destroyed) return;
    if (this.pending.length === 0 || response.writableEnded) {
      response.destroy();
      return;
    }
    const timer = setTimeout(() => response.destroy(), graceMs);
    timer.unref();
    const batch = this.takeBatch();
    const last = batch.pop() as StreamChunk;
    for (const chunk of batch) response.write(chunk);
    response.write(last, () => {
      clearTimeout(timer);
      response.destroy();
    });
  }

  private takeBatch(): StreamChunk[] {
    const { pending } = this;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingAllStrings = true;
    return pending;
  }
}
