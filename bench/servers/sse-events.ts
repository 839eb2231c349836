import { stamp } from "./stamp.js";

/** The events every SSE server under test publishes, so all of them send the same bytes. */

/** Upper bound on `?rate=` (events/s), so a typo cannot flood the clients. */
export const MAX_RATE = 100_000;

/**
 * The `data:` of event `seq`: a small JSON object (~100 bytes), as a live feed would send,
 * stamped with its publish time `t` (see stamp.ts). Call it once per event.
 */
export function sseData(seq: number, t = stamp()): string {
  return `{"seq":${seq},"t":${t},"symbol":"ACME","price":${100 + (seq % 100) / 4},"venue":"XNAS"}`;
}

/** Event `seq` on the wire, as `new SseEvent({ id: seq, data }).frame` encodes it. */
export function sseFrame(seq: number, data = sseData(seq)): string {
  return `id: ${seq}\ndata: ${data}\n\n`;
}

/** How a producer publishes: `rate` events/s (0: as fast as delivered), `burst` at a time. */
export interface Schedule {
  rate: number;
  burst: number;
}

/**
 * Reads `rate` (events/s; 0, the default, publishes as fast as clients take events) and
 * `burst` (events published together, default 1: at rate 1000 and burst 10, ten events every
 * 10 ms) from a query string.
 */
export function publishSchedule(query: URLSearchParams): Schedule {
  const rate = Number(query.get("rate") ?? 0);
  const burst = Number(query.get("burst") ?? 1);
  return {
    rate: Number.isFinite(rate) ? Math.min(MAX_RATE, Math.max(0, rate)) : 0,
    burst: Number.isInteger(burst) ? Math.min(1000, Math.max(1, burst)) : 1,
  };
}
