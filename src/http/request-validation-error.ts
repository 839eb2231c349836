import { MAX_REPORTED_ISSUES, type ValidationIssue } from "../util/validation-issue.js";
import { ValidationError } from "./validation-error.js";

/** The parts of an HTTP request a route's schemas validate. */
export type RequestPart = "params" | "query" | "headers" | "body";

/** An issue with the part of the request it is in. */
export interface LocatedIssue extends ValidationIssue {
  readonly in: string;
}

/** What one part's schema refused. */
export interface PartFailure {
  readonly part: RequestPart;
  readonly issues: readonly ValidationIssue[];
  readonly total: number;
}

/**
 * @internal A request refused by its route's schemas, one or more parts at once (a bad query
 * and a bad header are both reported): a ValidationError whose target names the parts
 * (`query and headers`) and whose issues each say which part they are in.
 */
export class RequestValidationError extends ValidationError {
  /** Every reported issue with its part, at most MAX_REPORTED_ISSUES in all. */
  readonly located: readonly LocatedIssue[];

  constructor(failures: readonly PartFailure[], options?: { cause?: unknown }) {
    const located: LocatedIssue[] = [];
    let total = 0;
    for (const failure of failures) {
      total += failure.total;
      for (const issue of failure.issues) located.push({ in: failure.part, ...issue });
    }
    const reported = located.slice(0, MAX_REPORTED_ISSUES);
    const target = failures.map((failure) => failure.part).join(" and ");
    super(target, reported, total);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.located = reported;
  }
}
