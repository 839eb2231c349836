import { bodyValue } from "../http/body-value.js";
import { HttpResponse } from "../http/http-response.js";
import type { SluiceRequest } from "../http/request.js";
import { formRecord } from "../http/request-parts.js";
import {
  type PartFailure,
  type RequestPart,
  RequestValidationError,
} from "../http/request-validation-error.js";
import { StreamingResponse } from "../http/streaming-response.js";
import { OutputValidationError } from "../http/validation-error.js";
import { isPromiseLike } from "../util/is-promise-like.js";
import { runReceivedSchema } from "../util/run-received-schema.js";
import { runSchema, type SchemaOutcome } from "../util/run-schema.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type { Handler } from "./route-table.js";
import type { RouteSchemas } from "./route-types.js";

type Outcome = SchemaOutcome<unknown>;
type HeadPart = Exclude<RequestPart, "body">;

/** Validated first, all of them, and without reading the body: they are cheap. */
const HEAD_PARTS: readonly HeadPart[] = ["params", "query", "headers"];

/**
 * The handler of a route with schemas: after the middleware, its params, query and headers
 * are validated (every failing part reported at once, the body left unread), then its body;
 * the handler gets the schemas' outputs on the request (headers: over Node's). A refusal is a ValidationError (400,
 * `application/problem+json`). With `checkResponse` (the App's `validateOutput`), a plain
 * value the handler returns is checked against `response` and sent as it was given; a
 * failure is an OutputValidationError (500, logged). A schema that throws is a SchemaError
 * (500, logged once, even when another part's async schema rejects later). Sync schemas on
 * a request without a body keep a sync handler sync.
 */
export function validatedHandler(
  handler: Handler,
  schemas: RouteSchemas,
  checkResponse: boolean,
): Handler {
  const response = checkResponse ? schemas.response : undefined;
  const heads = HEAD_PARTS.filter((part) => schemas[part] !== undefined);
  const body = schemas.body;
  const run =
    response === undefined
      ? handler
      : (request: SluiceRequest) => afterResult(handler(request), response);
  const withBody =
    body === undefined
      ? run
      : (request: SluiceRequest) => after(validateBody(request, body), () => run(request));
  if (heads.length === 0) return withBody;
  return (request) => after(validateHead(request, schemas, heads), () => withBody(request));
}

/** `next()` now when `step` was sync, after it when it is a promise. */
function after(step: unknown, next: () => unknown): unknown {
  return isPromiseLike(step) ? Promise.resolve(step).then(next) : next();
}

function validateHead(
  request: SluiceRequest,
  schemas: RouteSchemas,
  parts: readonly HeadPart[],
): undefined | Promise<void> {
  // Every input is taken before any output is set: `request.query` is still the raw one.
  const started = parts.map((part) =>
    startReceived(schemas[part] as StandardSchemaV1, headInput(request, part)),
  );
  if (!started.some(isPromiseLike)) {
    const outcomes = (started as (Outcome | Thrown)[]).map(outcomeOrThrow);
    applyHead(request, parts, outcomes);
    return undefined;
  }
  // Wait for every promise, whatever the others did: one left without a handler (a sync
  // throw coming first) would reject unhandled later, and Node ends the process for that.
  return Promise.allSettled(started).then((settled) => {
    const outcomes = settled.map((result) => {
      if (result.status === "rejected") throw result.reason;
      return outcomeOrThrow(result.value);
    });
    applyHead(request, parts, outcomes);
  });
}

/** What `runReceivedSchema` threw synchronously, kept so the parts after it still start. */
class Thrown {
  constructor(readonly error: unknown) {}
}

function startReceived(
  schema: StandardSchemaV1,
  value: unknown,
): Outcome | Promise<Outcome> | Thrown {
  try {
    return runReceivedSchema(schema, value);
  } catch (error) {
    return new Thrown(error);
  }
}

function outcomeOrThrow(started: Outcome | Thrown): Outcome {
  if (started instanceof Thrown) throw started.error;
  return started;
}

function headInput(request: SluiceRequest, part: HeadPart): unknown {
  if (part === "params") return request.params;
  if (part === "query") return formRecord(request.query);
  return request.raw.headers;
}

function applyHead(request: SluiceRequest, parts: readonly HeadPart[], outcomes: Outcome[]) {
  const failures: PartFailure[] = [];
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] as HeadPart;
    const outcome = outcomes[index] as Outcome;
    if (!outcome.ok) {
      failures.push({ part, issues: outcome.issues, total: outcome.total });
    } else if (part === "params") {
      // The field the router set: the schema's output may be other than strings.
      (request as { params: unknown }).params = outcome.value;
    } else if (part === "headers") {
      request.setValidated(part, withNodeHeaders(request, outcome.value));
    } else {
      request.setValidated(part, outcome.value);
    }
  }
  if (failures.length > 0) throw new RequestValidationError(failures);
}

/**
 * The headers schema's output over a copy of Node's headers: the ones it does not declare
 * stay readable (middleware after `next()`, a logger reading `user-agent`), the ones it
 * declares are its output.
 */
function withNodeHeaders(request: SluiceRequest, output: unknown): unknown {
  if (typeof output !== "object" || output === null) return output;
  return { ...request.raw.headers, ...output };
}

function validateBody(request: SluiceRequest, schema: StandardSchemaV1): undefined | Promise<void> {
  const received = bodyValue(request);
  if (isPromiseLike(received)) return received.then((value) => settleBody(request, schema, value));
  return settleBody(request, schema, received);
}

function settleBody(
  request: SluiceRequest,
  schema: StandardSchemaV1,
  received: unknown,
): undefined | Promise<void> {
  const outcome = runReceivedSchema(schema, received);
  if (isPromiseLike(outcome)) return outcome.then((settled) => applyBody(request, settled));
  applyBody(request, outcome);
  return undefined;
}

function applyBody(request: SluiceRequest, outcome: Outcome): void {
  if (!outcome.ok) {
    throw new RequestValidationError([
      { part: "body", issues: outcome.issues, total: outcome.total },
    ]);
  }
  request.setValidated("body", outcome.value);
}

/** The result checked against the `response` schema, then sent as the handler gave it. */
function afterResult(result: unknown, schema: StandardSchemaV1): unknown {
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then((value) => checkedResult(value, schema));
  }
  return checkedResult(result, schema);
}

function checkedResult(result: unknown, schema: StandardSchemaV1): unknown {
  if (isOwnResponse(result)) return result;
  const outcome = runSchema(schema, result);
  if (isPromiseLike(outcome)) return outcome.then((settled) => sentAsGiven(result, settled));
  return sentAsGiven(result, outcome);
}

function sentAsGiven(result: unknown, outcome: Outcome): unknown {
  if (!outcome.ok) throw new OutputValidationError("response", outcome.issues, outcome.total);
  return result;
}

/** A response the handler made itself, or a stream: sent as it is, not checked. */
function isOwnResponse(result: unknown): boolean {
  return (
    result instanceof HttpResponse ||
    result instanceof StreamingResponse ||
    result instanceof Response ||
    (typeof result === "object" && result !== null && Symbol.asyncIterator in result)
  );
}
