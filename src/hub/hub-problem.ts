import { STATUS_CODES } from "node:http";
import { HttpError } from "../http/http-error.js";
import { HttpResponse } from "../http/http-response.js";
import { PROBLEM_JSON } from "../http/problem-details.js";
import type { SluiceRequest } from "../http/request.js";
import { BrokerUnavailableError } from "../redis/errors.js";

/** Seconds a client is told to wait after a broker outage: Redis restarts in about that. */
const BROKER_RETRY_AFTER_SECONDS = 5;

/**
 * A refusal of the publish API: a status, a `detail` saying what to fix, and extension
 * members of the problem document (`index` of the batch message refused, `ids` stored...).
 */
export class HubProblem extends HttpError {
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    detail: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
    cause?: unknown,
  ) {
    super(status, detail, undefined, { headers, cause });
    this.name = "HubProblem";
    this.extensions = extensions;
  }

  /** A 503 for a broker outage, with a Retry-After: what was not stored can be sent again. */
  static brokerDown(detail: string, extensions: Record<string, unknown> = {}): HubProblem {
    return new HubProblem(503, detail, extensions, {
      "retry-after": String(BROKER_RETRY_AFTER_SECONDS),
    });
  }
}

/** A handler of the publish API, whatever it refuses with answered as a problem document. */
export function answeredAsProblems<R extends SluiceRequest>(
  handler: (request: R) => Promise<unknown>,
): (request: R) => Promise<unknown> {
  return async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      return problemResponse(error, request);
    }
  };
}

/**
 * An RFC 9457 `application/problem+json` answer: an HttpError keeps its status and headers
 * (`WWW-Authenticate`, `Retry-After`), a broker outage is a 503 (nothing was stored), anything
 * else a 500 whose detail names no internals (it is logged with the request id).
 */
export function problemResponse(error: unknown, request: SluiceRequest): HttpResponse {
  const { status, detail, extensions, headers } = problemOf(error, request);
  const body = {
    type: "about:blank",
    title: STATUS_CODES[status] ?? "Error",
    status,
    detail,
    ...extensions,
    requestId: request.id,
  };
  return HttpResponse.json(body, {
    statusCode: status,
    headers: { ...headers, "content-type": PROBLEM_JSON },
  });
}

interface Problem {
  status: number;
  detail: string;
  extensions: Readonly<Record<string, unknown>>;
  headers: Record<string, string>;
}

function problemOf(error: unknown, request: SluiceRequest): Problem {
  if (error instanceof BrokerUnavailableError) {
    request.log.warn({ err: error }, "publish API: the broker is unavailable");
    return problemOf(
      HubProblem.brokerDown(`The broker is unavailable, retry later: ${error.message}`),
      request,
    );
  }
  if (error instanceof HubProblem) {
    logRefusal(request, error);
    const { status, message, extensions, headers } = error;
    return { status, detail: message, extensions, headers };
  }
  if (error instanceof HttpError) {
    logRefusal(request, error);
    // readBody's 413 carries { limit }: kept as an extension member.
    const extensions = isPlainObject(error.details) ? error.details : {};
    return { status: error.status, detail: error.message, extensions, headers: error.headers };
  }
  request.log.error({ err: error }, "publish API request failed");
  return {
    status: 500,
    detail: "The hub failed to answer; its log has the cause under this requestId",
    extensions: {},
    headers: {},
  };
}

function logRefusal(request: SluiceRequest, error: HttpError): void {
  const level = error.status >= 500 ? "warn" : "debug";
  const { status, message, cause } = error;
  request.log[level]({ status, message, err: cause }, "publish API refused");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
