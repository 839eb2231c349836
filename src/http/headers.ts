import type { OutgoingHttpHeaders } from "node:http";

/**
 * Merges header records with case-insensitive names; later records win, except `set-cookie`,
 * whose values add up (a middleware's cookie must not wipe out the handler's).
 */
export function mergeHeaders(...records: OutgoingHttpHeaders[]): OutgoingHttpHeaders {
  const merged: OutgoingHttpHeaders = {};
  for (const record of records) {
    for (const name of Object.keys(record)) {
      const value = record[name];
      if (value === undefined) continue;
      const key = name.toLowerCase();
      const previous = merged[key];
      merged[key] =
        key === "set-cookie" && previous !== undefined
          ? [previous, value].flat().map(String)
          : value;
    }
  }
  return merged;
}
