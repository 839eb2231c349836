/** The row every NDJSON server under test streams, so both send the same payload. */
export interface Row {
  id: number;
  name: string;
  value: number;
}

/** Upper bound on `?rows=`, so a typo cannot start an endless stream. */
export const MAX_ROWS = 5_000_000;

export function makeRow(i: number): Row {
  return { id: i, name: `row-${i}`, value: i * 2 };
}

export function* syncRows(count: number): Generator<Row> {
  for (let i = 0; i < count; i++) yield makeRow(i);
}

export async function* asyncRows(count: number): AsyncGenerator<Row> {
  for (let i = 0; i < count; i++) yield makeRow(i);
}

/** Reads `rows` from a query string, clamped to 0..MAX_ROWS (default 1000). */
export function rowCount(query: URLSearchParams): number {
  const requested = Number(query.get("rows") ?? 1000);
  if (!Number.isFinite(requested)) return 0;
  return Math.min(MAX_ROWS, Math.max(0, Math.floor(requested)));
}

/** The small object the JSON route answers with. */
export function jsonPayload(): { hello: string; n: number } {
  return { hello: "world", n: 42 };
}
