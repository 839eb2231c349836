/** Something with writes batched until the end of the current tick. */
export interface Flushable {
  flushScheduled(): void;
}

let queued: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

/**
 * Runs every queued flush from one `setImmediate`: a publish to a thousand streams costs one
 * timer callback, not a thousand. Each entry is queued at most once per tick by its owner.
 */
export function queueFlush(entry: Flushable): void {
  queued.push(entry);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushQueued);
  }
}

function flushQueued(): void {
  scheduled = false;
  // Swap arrays: flushes queued while these run (a producer resumed by a drain) wait for the
  // next turn, and no array is allocated per turn.
  const entries = queued;
  queued = spare;
  for (let i = 0; i < entries.length; i++) entries[i].flushScheduled();
  entries.length = 0;
  spare = entries;
}
