import type { DeliveryCheck } from "./delivery-check.js";
import type { LatencyHistogram, SparseBuckets } from "./latency-histogram.js";

/**
 * What a group of subscribers (or streams) of a fan-out benchmark received in a run, as a
 * subscriber process reports it and as its parent sums the processes' reports.
 */
export interface DeliveryCounts {
  received: number;
  lost: number;
  duplicates: number;
  malformed: number;
  /** The first errors of subscribers that failed (cut off, closed, unexpected frames). */
  errors: string[];
  /** Publish-to-receipt latencies of the deliveries in the measured window. */
  latency: SparseBuckets;
}

/** Nothing received yet; `latency` as given. */
export function noDeliveries(latency: SparseBuckets): DeliveryCounts {
  return { received: 0, lost: 0, duplicates: 0, malformed: 0, errors: [], latency };
}

/** Adds what one subscriber's check counted (after its `finish()`) to `counts`. */
export function addCheck(counts: DeliveryCounts, check: DeliveryCheck): void {
  counts.received += check.received;
  counts.lost += check.lost;
  counts.duplicates += check.duplicates;
  counts.malformed += check.malformed;
}

/** Adds one process's counts to `total`, its latencies to `histogram` (`total.latency` is left). */
export function addCounts(
  total: DeliveryCounts,
  part: DeliveryCounts,
  histogram: LatencyHistogram,
): void {
  total.received += part.received;
  total.lost += part.lost;
  total.duplicates += part.duplicates;
  total.malformed += part.malformed;
  total.errors.push(...part.errors);
  histogram.merge(part.latency);
}
