import type { OutgoingHttpHeaders } from "node:http";

/** Merges header records with case-insensitive names; later records win. */
export function mergeHeaders(...records: OutgoingHttpHeaders[]): OutgoingHttpHeaders {
  const merged: OutgoingHttpHeaders = {};
  for (const record of records) {
    for (const name of Object.keys(record)) {
      const value = record[name];
      if (value !== undefined) merged[name.toLowerCase()] = value;
    }
  }
  return merged;
}
