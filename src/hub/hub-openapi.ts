import { readFileSync } from "node:fs";
import type { OpenApiDocument } from "../api-docs/openapi.js";
import { MAX_SSE_TOPICS } from "../protocol/frames.js";
import { type Answer, PROBLEM_JSON, SHARED_RESPONSES, sluiceError } from "./hub-openapi-answers.js";
import {
  batchOperation,
  historyOperation,
  presenceOperation,
  publishOperation,
} from "./hub-openapi-publish.js";
import { HEADERS, ref, SCHEMAS, SECURITY_SCHEMES, TOPIC_PARAMETER } from "./hub-openapi-schemas.js";
import { JSON_TYPE } from "./publish-body.js";

/** Where the hub serves this document. */
export const OPENAPI_PATH = "/openapi.json";

/**
 * The OpenAPI 3.1 document of what `sluice hub` serves over plain HTTP: the publish API,
 * `/healthz`, `/metrics`, this document, and the SSE side of `/rt` (its WebSocket side,
 * sluice.v1, is docs/protocol.md's). The same for every hub, whatever its settings: limits
 * that are settings (`--max-body`, `--publish-rate`) are named, not given. Also written to
 * docs/hub-openapi.json by scripts/write-hub-openapi.ts.
 */
export function hubOpenApi(): HubOpenApiDocument {
  return {
    openapi: "3.1.0",
    info: {
      title: "sluice hub",
      version: packageVersion(),
      description: DESCRIPTION,
    },
    tags: [
      { name: "publish", description: "For backends: publish messages to topics." },
      { name: "read", description: "For backends: a topic's history and presence." },
      { name: "subscribe", description: "For browsers and apps: follow topics." },
      { name: "operations", description: "For load balancers, monitoring and tools." },
    ],
    paths: {
      "/publish": { post: publishOperation() },
      "/publish/batch": { post: batchOperation() },
      "/topics/{topic}/history": { get: historyOperation() },
      "/topics/{topic}/presence": { get: presenceOperation() },
      "/rt": { get: subscribeOperation() },
      "/healthz": { get: healthOperation() },
      "/metrics": { get: metricsOperation() },
      [OPENAPI_PATH]: { get: documentOperation() },
    },
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: SCHEMAS,
      parameters: { topic: TOPIC_PARAMETER },
      headers: HEADERS,
      responses: SHARED_RESPONSES,
    },
  };
}

/** The hub's document: an OpenAPI 3.1 document with tags. */
export type HubOpenApiDocument = OpenApiDocument & {
  tags: { name: string; description: string }[];
};

/** The version in sluice's package.json (two folders up from src/hub/ and dist/hub/ alike). */
function packageVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

const DESCRIPTION = `The HTTP API of \`sluice hub\`, the standalone real-time server: backends in any language publish to topics here; browsers and apps follow them on \`/rt\` (a WebSocket speaking sluice.v1, or Server-Sent Events). The guide is docs/hub.md in the sluice package, the real-time protocol docs/protocol.md.

Every refusal of the hub is an RFC 9457 problem document (\`application/problem+json\`) whose \`detail\` says what to fix and whose \`requestId\` finds the hub's log line; nothing is published when a request is refused. That holds for a path the hub has no route for (404) and a method its path does not take (405, with \`Allow\`).

A few answers come from the HTTP layer before the hub reads the request, with sluice's own body \`{ "error", "message", "requestId" }\` (\`application/json\`): 400 for a request head that cannot be routed safely (a path with an encoded \`/\` (\`%2F\`) or \`\\\\\`, a \`.\` segment, malformed percent-encoding, a bad \`Host\`), 431 for more header fields than the hub reads, and 503 while the hub shuts down (a request on a connection kept alive through the drain; retry on a new connection).`;

const METRICS_TYPE = "text/plain; version=0.0.4";

function subscribeOperation(): Answer {
  return {
    operationId: "subscribe",
    tags: ["subscribe"],
    summary: "Follow topics (Server-Sent Events)",
    description: `The real-time endpoint. A WebSocket upgrade on this path speaks sluice.v1 (subprotocol \`sluice.v1\`; \`connect()\` from \`sluice/client\`): subscribe, publish, presence and resuming, as docs/protocol.md (in the sluice package) describes; OpenAPI cannot describe it. A GET without upgrade is the SSE side: every named topic in one stream (\`EventSource\`, curl), each event's \`id\` the stream's position, which \`Last-Event-ID\` resumes from. With JWT options the hub requires a token (the \`Authorization\` header, \`?access_token=\`, or for a WebSocket the subprotocol after \`bearer\`) whose \`subscribe\` patterns match every topic; without them \`/rt\` is open (for development).`,
    security: [{ jwt: [] }, { accessToken: [] }, {}],
    parameters: [
      {
        name: "topic",
        in: "query",
        required: true,
        description: `The topics to follow, 1 to ${MAX_SSE_TOPICS}, each once: \`?topic=news&topic=chat:lobby\`.`,
        schema: {
          type: "array",
          minItems: 1,
          maxItems: MAX_SSE_TOPICS,
          uniqueItems: true,
          items: ref("Topic"),
        },
        style: "form",
        explode: true,
      },
      {
        name: "Last-Event-ID",
        in: "header",
        description: "The last event id received, to resume from (EventSource sends it).",
        schema: { type: "string" },
      },
    ],
    responses: {
      "200": {
        description:
          "The event stream: a `: sluice.v1` comment, an id-only block with the starting position, then each message as `id`, `event` (default `message`) and `data` (its JSON). `event: reset` when a topic's log no longer holds where the client was; `event: expired` when its token expires.",
        content: { "text/event-stream": { schema: { type: "string" } } },
      },
      "400": sluiceError(
        `No topic, over ${MAX_SSE_TOPICS}, one named twice or empty, or a position too long for a Last-Event-ID.`,
        `Name 1 to ${MAX_SSE_TOPICS} topics: ?topic=a&topic=b (got 0)`,
        400,
      ),
      "401": {
        ...sluiceError(
          "With JWT options: no token, or a bad or expired one.",
          "A bearer token is required",
          401,
        ),
        headers: { "WWW-Authenticate": { $ref: "#/components/headers/WwwAuthenticate" } },
      },
      "403": sluiceError(
        "A topic the hub does not serve or the token does not grant.",
        'Not allowed to subscribe to "admin"',
        403,
      ),
      "503": {
        ...sluiceError(
          "Over `--max-connections` or `--max-connections-per-ip` (`Retry-After: 5`), the broker could not subscribe, the JWKS cannot be fetched, or the hub is shutting down.",
          "Too many connections; try again later",
          503,
        ),
        headers: { "Retry-After": { $ref: "#/components/headers/RetryAfterWhenBusy" } },
      },
    },
  };
}

function healthOperation(): Answer {
  return {
    operationId: "health",
    tags: ["operations"],
    summary: "Is the broker reachable",
    description:
      "200 when the broker answers a read within 2 seconds. Never cached (`Cache-Control: no-store`). The broker's error is logged, never sent.",
    security: [],
    responses: {
      "200": {
        description: "The broker answers.",
        content: {
          [JSON_TYPE]: {
            schema: ref("Health"),
            examples: { memory: { value: { status: "ok", broker: "memory" } } },
          },
        },
      },
      "503": {
        description: "The broker does not answer.",
        headers: { "Retry-After": { $ref: "#/components/headers/RetryAfter" } },
        content: {
          [PROBLEM_JSON]: {
            schema: ref("HealthProblem"),
            examples: {
              redisDown: {
                value: {
                  type: "about:blank",
                  title: "Service Unavailable",
                  status: 503,
                  detail:
                    "The redis broker does not answer: nothing can be published or replayed until it does",
                  broker: "redis",
                },
              },
            },
          },
        },
      },
    },
  };
}

function metricsOperation(): Answer {
  return {
    operationId: "metrics",
    tags: ["operations"],
    summary: "Metrics in the Prometheus text format",
    description:
      "Counters and gauges of this hub in the Prometheus text exposition format 0.0.4: connections by transport, messages published and delivered, slow consumers cut off, broker reconnects.",
    security: [],
    responses: {
      "200": {
        description: "The metrics.",
        content: { [METRICS_TYPE]: { schema: { type: "string" } } },
      },
    },
  };
}

function documentOperation(): Answer {
  return {
    operationId: "openApiDocument",
    tags: ["operations"],
    summary: "This document",
    security: [],
    responses: {
      "200": {
        description: "The OpenAPI 3.1 document of the hub's HTTP API.",
        content: {
          [JSON_TYPE]: {
            schema: { type: "object", required: ["openapi", "info", "paths"] },
          },
        },
      },
    },
  };
}
