import { randomUUID } from "node:crypto";

/** Where a new id is written once as a property key: V8 then makes the string flat. */
const flattener: Record<string, unknown> = Object.create(null);

/**
 * A random UUID for a long-lived connection, held as one flat string. Node's `randomUUID()`
 * returns a rope of 14 concatenated pieces, about 490 bytes of heap for 36 characters; kept
 * once per open WebSocket or SSE connection, that is as much as several of its objects.
 * Using it as a property key flattens it in place (about 60 bytes).
 */
export function connectionId(): string {
  const id = randomUUID();
  flattener[id] = undefined;
  delete flattener[id];
  return id;
}
