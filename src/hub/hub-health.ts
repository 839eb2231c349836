import { HttpResponse } from "../http/http-response.js";
import { PROBLEM_JSON } from "../http/problem-details.js";
import type { SluiceRequest } from "../http/request.js";
import type { Broker } from "../topics/broker.js";

/** A topic no one publishes to: reading its history asks the broker something cheap. */
const PROBE_TOPIC = "sluice-hub:healthz";
/** How long the broker has to answer before the hub counts it as down. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * `GET /healthz`: 200 `{ "status": "ok", "broker": "memory" | "redis" }` when the broker
 * answers a read within two seconds, else 503 `application/problem+json` (with Retry-After),
 * the broker's error logged, never sent (it may name a host or a password).
 */
export function healthCheck(broker: Broker, kind: "memory" | "redis") {
  return async (request: SluiceRequest): Promise<HttpResponse> => {
    const failure = await probe(broker);
    if (failure === undefined) {
      return HttpResponse.json(
        { status: "ok", broker: kind },
        { headers: { "cache-control": "no-store" } },
      );
    }
    request.log.warn({ err: failure, broker: kind }, "health check: the broker does not answer");
    const problem = {
      type: "about:blank",
      title: "Service Unavailable",
      status: 503,
      detail: `The ${kind} broker does not answer: nothing can be published or replayed until it does`,
      broker: kind,
    };
    return HttpResponse.json(problem, {
      statusCode: 503,
      headers: { "content-type": PROBLEM_JSON, "retry-after": "5", "cache-control": "no-store" },
    });
  };
}

/** Undefined when the broker answered in time, else why not. */
async function probe(broker: Broker): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Error>((resolve) => {
    timer = setTimeout(
      () => resolve(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
      PROBE_TIMEOUT_MS,
    );
  });
  const read = broker.history(PROBE_TOPIC, { limit: 1 }).then(
    () => undefined,
    (error: unknown) => error ?? new Error("the broker failed"),
  );
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}
