/** The events every SSE server under test publishes, so all of them send the same bytes. */

/** Upper bound on `?rate=` (events/s), so a typo cannot flood the clients. */
export const MAX_RATE = 100_000;

/** The `data:` of event `seq`: a small JSON object, as a live feed would send. */
export function sseData(seq: number): string {
  return `{"seq":${seq},"symbol":"ACME","price":${100 + (seq % 100) / 4}}`;
}

/** Event `seq` on the wire, as `new SseEvent({ id: seq, data: sseData(seq) }).frame` encodes it. */
export function sseFrame(seq: number): string {
  return `id: ${seq}\ndata: ${sseData(seq)}\n\n`;
}

/** Reads `rate` (events/s) from a query string: 0 (the default) publishes as fast as clients take events. */
export function publishRate(query: URLSearchParams): number {
  const requested = Number(query.get("rate") ?? 0);
  if (!Number.isFinite(requested)) return 0;
  return Math.min(MAX_RATE, Math.max(0, requested));
}
