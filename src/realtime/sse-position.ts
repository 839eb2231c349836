/**
 * The position of a real-time SSE stream (docs/protocol.md, "Server-Sent Events"): what its
 * events carry as `id:` and a client sends back as Last-Event-ID. One topic: its cursor, as
 * it is. Several: each topic's cursor URI-component-encoded, in the order of the `topic`
 * parameters, joined by `,` (an empty entry: no cursor).
 */
export function encodePosition(cursors: readonly (string | undefined)[]): string {
  if (cursors.length === 1) return cursors[0] ?? "";
  return cursors
    .map((cursor) => (cursor === undefined ? "" : encodeURIComponent(cursor)))
    .join(",");
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
