import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import type { StreamSource } from "./streaming-response.js";

/**
 * A producer being pulled. Sync iterators are kept apart so they are pulled without an await
 * per item. `cancel()` stops the producer even while a pull is pending where the source
 * allows it: a Readable is destroyed and a web stream cancelled (their iterators' `return()`
 * would wait behind the pending read); an iterator gets `return()`, so a generator's
 * `finally` runs.
 */
export type SourceIterator<T> = (
  | { sync: true; iterator: Iterator<T> }
  | { sync: false; iterator: AsyncIterator<T> }
) & { cancel(): Promise<unknown> };

export function openSource<T>(source: StreamSource<T>): SourceIterator<T> {
  if (typeof source === "string" || source instanceof Uint8Array) {
    return fromSyncIterator([source as T][Symbol.iterator]());
  }
  if (source instanceof Readable) return fromReadable(source);
  if (isWebStream<T>(source)) return fromWebStream(source);
  const candidate = source as Partial<AsyncIterable<T> & Iterable<T>>;
  const asyncIterate = candidate[Symbol.asyncIterator];
  if (typeof asyncIterate === "function") {
    return new AsyncIteratorSource(asyncIterate.call(candidate));
  }
  const iterate = candidate[Symbol.iterator];
  if (typeof iterate === "function") return fromSyncIterator(iterate.call(candidate));
  throw new TypeError(
    "A stream source must be an AsyncIterable, an Iterable, a Readable or a ReadableStream",
  );
}

/** Cancels a source; its own failure is reported, never thrown. */
export async function cancelSource<T>(
  source: SourceIterator<T>,
  onError: (error: unknown) => void,
): Promise<void> {
  try {
    await source.cancel();
  } catch (error) {
    onError(error);
  }
}

function fromSyncIterator<T>(iterator: Iterator<T>): SourceIterator<T> {
  return new SyncIteratorSource(iterator);
}

// Classes rather than object literals with a `cancel` arrow: an open stream (an idle SSE
// connection, say) then holds one small object, not an object, a closure and its context.

/** An async iterator (an async generator, say), stopped by its `return()`. */
class AsyncIteratorSource<T> {
  readonly sync = false;
  constructor(readonly iterator: AsyncIterator<T>) {}

  async cancel(): Promise<unknown> {
    return this.iterator.return?.();
  }
}

/** A sync iterator, stopped by its `return()`. */
class SyncIteratorSource<T> {
  readonly sync = true;
  constructor(readonly iterator: Iterator<T>) {}

  async cancel(): Promise<unknown> {
    return this.iterator.return?.();
  }
}

function fromReadable<T>(readable: Readable): SourceIterator<T> {
  const iterator = readable[Symbol.asyncIterator]() as AsyncIterator<T>;
  return {
    sync: false,
    iterator,
    cancel: async () => {
      readable.destroy();
    },
  };
}

function fromWebStream<T>(stream: ReadableStream<T>): SourceIterator<T> {
  const reader = stream.getReader();
  const iterator: AsyncIterator<T> = {
    next: () => reader.read() as Promise<IteratorResult<T>>,
  };
  return { sync: false, iterator, cancel: () => reader.cancel() };
}

function isWebStream<T>(source: unknown): source is ReadableStream<T> {
  return typeof (source as ReadableStream<T>).getReader === "function";
}
