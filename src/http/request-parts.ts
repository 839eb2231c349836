/*
 * The parts of a request a route's schemas validate, as plain values: the query string and
 * form bodies as records, and the body's media type. Nothing here validates.
 */

/** What a query string or form body becomes: a key given once is a string, repeated a list. */
export type FormRecord = Record<string, string | string[]>;

/**
 * `?tag=a&tag=b&limit=5` as `{ tag: ["a", "b"], limit: "5" }`. The record has no prototype,
 * so a `__proto__` key is a key like any other, never the record's prototype.
 */
export function formRecord(params: URLSearchParams): FormRecord {
  const record: FormRecord = Object.create(null);
  for (const [key, value] of params) {
    const previous = record[key];
    if (previous === undefined) record[key] = value;
    else if (typeof previous === "string") record[key] = [previous, value];
    else previous.push(value);
  }
  return record;
}

/** The kinds of body a route with a `body` schema reads. */
export type BodyKind = "json" | "form";

/** Media types a `body` schema accepts, as a 415 names them. */
export const ACCEPTED_BODY_TYPES: readonly string[] = [
  "application/json",
  "application/*+json",
  "application/x-www-form-urlencoded",
];

/**
 * How a Content-Type's body is read: JSON for `application/json` and any `+json` type
 * (`application/merge-patch+json`), a form for `application/x-www-form-urlencoded`,
 * undefined for anything else (or none). Parameters (`; charset=utf-8`) are ignored.
 */
export function bodyKindOf(contentType: string | undefined): BodyKind | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon))
    .trim()
    .toLowerCase();
  if (mediaType === "application/json" || (mediaType.includes("/") && mediaType.endsWith("+json")))
    return "json";
  if (mediaType === "application/x-www-form-urlencoded") return "form";
  return undefined;
}
