/**
 * The position of a real-time SSE stream (docs/protocol.md, "Server-Sent Events") is what its
 * events carry as `id:` and a client sends back as Last-Event-ID. One topic: its cursor, as
 * it is. Several: each topic's cursor URI-component-encoded (this function), in the order of
 * the `topic` parameters, joined by `,` (an empty entry: no cursor). The stream keeps each
 * entry encoded and joins them per event (realtime-sse.ts).
 */
export function encodePositionEntry(cursor: string): string {
  return encodeURIComponent(cursor);
}

/**
 * The cursors a Last-Event-ID gives `count` topics. One that does not fit (another entry
 * count, a bad escape) gives none: every topic then starts from its newest message.
 */
export function decodePosition(
  lastEventId: string | undefined,
  count: number,
): (string | undefined)[] {
  const none = new Array<string | undefined>(count).fill(undefined);
  if (lastEventId === undefined || lastEventId === "") return none;
  if (count === 1) return [lastEventId];
  const entries = lastEventId.split(",");
  if (entries.length !== count) return none;
  try {
    return entries.map((entry) => (entry === "" ? undefined : decodeURIComponent(entry)));
  } catch {
    return none;
  }
}
