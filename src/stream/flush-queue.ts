/**
 * Something with writes put off until the end of the current tick: batched chunks, or the
 * head of a stream whose producer has that long to answer its first pull.
 */
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

let turn = 0;
let turnEndScheduled = false;

/**
 * A number that changes once per turn of the event loop (when the check phase runs): lets a
 * writer tell a second write within the same turn, worth batching, from a lone one, which
 * is cheaper written at once. Costs one setImmediate per turn in which it is asked.
 */
export function currentTurn(): number {
  if (!turnEndScheduled) {
    turnEndScheduled = true;
    setImmediate(endTurn);
  }
  return turn;
}

function endTurn(): void {
  turn++;
  turnEndScheduled = false;
}
