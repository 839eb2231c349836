import {
  describeIssue,
  MAX_REPORTED_ISSUES,
  type ValidationIssue,
} from "../util/validation-issue.js";
import { HttpError } from "./http-error.js";

export type { ValidationIssue } from "../util/validation-issue.js";

/**
 * A value refused by its schema: a request's body, query, params or headers, a WebSocket
 * message, a topic's data, a real-time method's params. An HttpError 400, so a handler that
 * lets it through answers 400 (`application/problem+json`, RFC 9457, listing every issue), a
 * WebSocket handler closes with 4400 and a real-time request gets an `invalid` error reply.
 *
 * `message` names the first issue's path and rule: `Invalid body: name: Expected string`.
 */
export class ValidationError extends HttpError {
  /** What was validated: "body", "query", "params", "headers", "message", `topic "chat:1"`... */
  readonly target: string;
  /** Each issue's path and message, at most MAX_REPORTED_ISSUES (100) of them. */
  readonly issues: readonly ValidationIssue[];
  /** How many issues the schema reported in all (more than `issues` holds past the cap). */
  readonly total: number;

  constructor(target: string, issues: readonly ValidationIssue[], total = issues.length) {
    super(400, validationMessage(target, issues, total));
    this.name = "ValidationError";
    this.target = target;
    this.issues = issues.slice(0, MAX_REPORTED_ISSUES);
    this.total = Math.max(total, this.issues.length);
  }
}

function validationMessage(
  target: string,
  issues: readonly ValidationIssue[],
  total: number,
): string {
  const first = issues[0];
  if (first === undefined) return `Invalid ${target}`;
  const more = total > 1 ? ` (and ${total - 1} more issue${total > 2 ? "s" : ""})` : "";
  return `Invalid ${target}: ${describeIssue(first)}${more}`;
}

/**
 * A value the app sent failed its own schema (a route's `response`, a socket's `send`, an SSE
 * route's `events`, a method's `result`), checked when the App's `validateOutput` is on: the
 * server's bug, never the client's, so not an HttpError: HTTP answers 500 and a WebSocket
 * closes with 1011, and it is logged with the issues.
 */
export class OutputValidationError extends Error {
  readonly target: string;
  readonly issues: readonly ValidationIssue[];

  constructor(target: string, issues: readonly ValidationIssue[], total = issues.length) {
    super(
      `The app sent an invalid ${validationMessage(target, issues, total).slice("Invalid ".length)}`,
    );
    this.name = "OutputValidationError";
    this.target = target;
    this.issues = issues.slice(0, MAX_REPORTED_ISSUES);
  }
}
