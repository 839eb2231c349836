import type { StreamSource } from "./streaming-response.js";

/** A sync or async iterator, kept apart so sync producers are pulled without an await each. */
export type SourceIterator<T> =
  | { sync: true; iterator: Iterator<T> }
  | { sync: false; iterator: AsyncIterator<T> };

export function openSource<T>(source: StreamSource<T>): SourceIterator<T> {
  if (typeof source === "string" || source instanceof Uint8Array) {
    return { sync: true, iterator: [source as T][Symbol.iterator]() };
  }
  const candidate = source as Partial<AsyncIterable<T> & Iterable<T>>;
  const asyncIterate = candidate[Symbol.asyncIterator];
  if (typeof asyncIterate === "function") {
    return { sync: false, iterator: asyncIterate.call(candidate) };
  }
  const iterate = candidate[Symbol.iterator];
  if (typeof iterate === "function") return { sync: true, iterator: iterate.call(candidate) };
  throw new TypeError(
    "A stream source must be an AsyncIterable, an Iterable, a Readable or a ReadableStream",
  );
}

/** Calls `return()` so a generator's `finally` runs; its own failure is reported, not thrown. */
export async function closeSource<T>(
  source: SourceIterator<T>,
  onError: (error: unknown) => void,
): Promise<void> {
  try {
    await source.iterator.return?.();
  } catch (error) {
    onError(error);
  }
}
