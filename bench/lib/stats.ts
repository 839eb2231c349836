/** One run's measurements, by metric name. */
export type Sample = Record<string, number>;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The median of each metric on its own, over every sample. */
export function medianSample(samples: Sample[]): Sample {
  const result: Sample = {};
  for (const key of Object.keys(samples[0] ?? {})) {
    result[key] = median(samples.map((sample) => sample[key]));
  }
  return result;
}

/** `count` rounds over `items`, each starting one further along, so no item always goes first. */
export async function alternate<T, R>(
  items: T[],
  count: number,
  run: (item: T, round: number) => Promise<R>,
): Promise<Map<T, R[]>> {
  const results = new Map<T, R[]>(items.map((item) => [item, []]));
  for (let round = 0; round < count; round++) {
    for (let i = 0; i < items.length; i++) {
      const item = items[(i + round) % items.length];
      results.get(item)?.push(await run(item, round));
    }
  }
  return results;
}
