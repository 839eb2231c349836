import type { StandardSchemaV1 } from "@standard-schema/spec";

/** One reason a value was refused: where in the value, and which rule it broke. */
export interface ValidationIssue {
  /** Where, as code would write it: `items[0].name`; "" for the value itself. */
  readonly path: string;
  /** The same place as a JSON Pointer (RFC 6901): `/items/0/name`; "" for the value itself. */
  readonly pointer: string;
  /** The schema library's message: the rule broken (`Expected string, received number`). */
  readonly message: string;
}

/**
 * Issues listed at most: a 10 000-item array that fails on every item is reported by its
 * first 100 issues, not by a megabyte of them (the error says how many were left out).
 */
export const MAX_REPORTED_ISSUES = 100;
/** Longest message kept, in characters: some libraries quote the input, which may be huge. */
export const MAX_ISSUE_MESSAGE_LENGTH = 300;
/** Deepest path kept, in segments: a deeper one ends with `…`. */
const MAX_PATH_SEGMENTS = 32;
/**
 * Longest key kept in a path, and longest path, in characters: keys come from the client (a
 * 200 KB property name, repeated in 100 issues, would make a 40 MB answer), so they are cut
 * like messages are. A cut key or path ends with `…`.
 */
export const MAX_PATH_KEY_LENGTH = 64;
export const MAX_ISSUE_PATH_LENGTH = 200;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The library's issues as sluice reports them, at most MAX_REPORTED_ISSUES. */
export function toValidationIssues(issues: readonly StandardSchemaV1.Issue[]): ValidationIssue[] {
  const reported: ValidationIssue[] = [];
  for (const issue of issues.slice(0, MAX_REPORTED_ISSUES)) {
    const keys = (issue.path ?? []).slice(0, MAX_PATH_SEGMENTS).map(keyOf);
    const truncatedPath = (issue.path?.length ?? 0) > MAX_PATH_SEGMENTS;
    reported.push({
      path: cut(codePath(keys) + (truncatedPath ? "…" : ""), MAX_ISSUE_PATH_LENGTH),
      pointer: cut(jsonPointer(keys) + (truncatedPath ? "/…" : ""), MAX_ISSUE_PATH_LENGTH),
      message: shortMessage(issue.message),
    });
  }
  return reported;
}

function keyOf(segment: PropertyKey | StandardSchemaV1.PathSegment): PropertyKey {
  const key = typeof segment === "object" && segment !== null ? segment.key : segment;
  return typeof key === "string" ? cut(key, MAX_PATH_KEY_LENGTH) : key;
}

/** `text` at most `max` characters, the last one `…` when it was longer. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `items[0].name`, `["a b"]`: a path a developer can paste after the value's name. */
export function codePath(keys: readonly PropertyKey[]): string {
  let path = "";
  for (const key of keys) {
    if (typeof key === "number") path += `[${key}]`;
    else if (typeof key === "symbol") path += `[${String(key)}]`;
    else if (IDENTIFIER.test(key)) path += path === "" ? key : `.${key}`;
    else path += `[${JSON.stringify(key)}]`;
  }
  return path;
}

/** RFC 6901: `~` is `~0` and `/` is `~1` inside a key. */
export function jsonPointer(keys: readonly PropertyKey[]): string {
  let pointer = "";
  for (const key of keys) {
    pointer += `/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`;
  }
  return pointer;
}

function shortMessage(message: unknown): string {
  const text = typeof message === "string" && message !== "" ? message : "Invalid value";
  return cut(text, MAX_ISSUE_MESSAGE_LENGTH);
}

/** `name: Expected string` (the value itself: just the message), for logs and close reasons. */
export function describeIssue(issue: ValidationIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}
