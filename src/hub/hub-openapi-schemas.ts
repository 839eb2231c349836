import { MAX_DEDUPE_KEY_LENGTH } from "../topics/dedupe-key.js";
import { RESERVED_EVENTS } from "../topics/topic-checks.js";
import { MAX_BATCH } from "./publish-batch.js";
import { HUB_REALM } from "./publisher-auth.js";

// The components of the hub's OpenAPI document (hub-openapi.ts): security schemes, schemas,
// the topic parameter and headers.

export type Schema = Record<string, unknown>;

/** Topic names are 1 to 1 024 characters (topics/topic-checks.ts). */
export const MAX_TOPIC_LENGTH = 1024;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const SECURITY_SCHEMES = {
  publishKey: {
    type: "http",
    scheme: "bearer",
    description:
      "`Authorization: Bearer <publish key>`: one of the hub's `--publish-key`s. A key may publish to, and read, every topic the hub serves.",
  },
  jwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      'A JWT verified with the hub\'s `--jwt-secret` (HS256) or `--jwks-url`, `--jwt-issuer`, `--jwt-audience`. Its topics claim (`topics`, or `--topics-claim`) lists topic patterns: `{ "subscribe": [...], "publish": [...] }`, or a list meaning subscribe only. `publish` patterns allow POST /publish and /publish/batch; `subscribe` patterns allow history, presence and following a topic on /rt.',
  },
  accessToken: {
    type: "apiKey",
    in: "query",
    name: "access_token",
    description:
      "The subscriber's JWT as a query parameter, for clients that cannot set a header (`EventSource`). Same checks as `jwt`.",
  },
};

/** Publishers authenticate with a publish key or a JWT. */
export const PUBLISHER_SECURITY = [{ publishKey: [] }, { jwt: [] }];

const PROBLEM: Schema = {
  type: "object",
  description:
    "RFC 9457 problem details. `detail` says what to fix; `requestId` finds the hub's log line. Extension members: `index` and `ids` (a batch), `limit` (413), `accepted` (415).",
  required: ["type", "title", "status", "detail", "requestId"],
  properties: {
    type: { const: "about:blank" },
    title: { type: "string", description: "The status's reason phrase.", examples: ["Forbidden"] },
    status: { type: "integer", minimum: 400, maximum: 599 },
    detail: { type: "string" },
    requestId: { type: "string", examples: ["3f9a1c02-1b"] },
    index: {
      type: "integer",
      minimum: 0,
      description:
        "POST /publish/batch: the message refused (4xx), or the one being published when the broker failed (5xx).",
    },
    ids: {
      type: "array",
      items: { type: "string" },
      description:
        "POST /publish/batch cut midway by a failure: the ids of messages[0] to [index - 1], which were stored.",
    },
    limit: { type: "integer", description: "413: the largest body the hub reads, in bytes." },
    accepted: {
      type: "array",
      items: { type: "string" },
      description: "415: the media types this operation reads.",
    },
  },
};

const SLUICE_ERROR: Schema = {
  type: "object",
  description:
    "Sluice's own error body, for answers given before the hub's code runs (see the document's description) and by /rt.",
  required: ["error", "message", "requestId"],
  properties: {
    error: {
      type: "string",
      description: "The status's reason phrase.",
      examples: ["Bad Request"],
    },
    message: { type: "string", description: "What is wrong." },
    requestId: { type: "string" },
    details: { description: "More about the error, when there is more." },
  },
};

const TOPIC: Schema = {
  type: "string",
  minLength: 1,
  maxLength: MAX_TOPIC_LENGTH,
  description:
    "A topic's name. It must match one of the hub's `--topics` patterns (else 404) and, for a JWT, one of its claim's patterns (else 403). Patterns are `:`-separated parts where `*` stands for one whole part.",
  examples: ["orders:42"],
};

const EVENT: Schema = {
  type: "string",
  minLength: 1,
  pattern: "^[^\\r\\n]+$",
  not: { enum: [...RESERVED_EVENTS] },
  description: `The event type (SSE \`event:\`), default \`message\`: one line, and none of the types only sluice sends (${[...RESERVED_EVENTS].join(", ")}).`,
  examples: ["status"],
};

const STORE_DESCRIPTION =
  '`false`: delivered live only, never kept for replay or history (the answer\'s id is then `""`). Default `true`.';
const DEDUPE_KEY_DESCRIPTION = `Your id for the message: a retry with the same key within 2 minutes stores nothing and answers the first message's id.`;

const PUBLISH_MESSAGE: Schema = {
  type: "object",
  required: ["topic", "data"],
  additionalProperties: false,
  properties: {
    topic: ref("Topic"),
    data: {
      description: "What subscribers receive: any JSON value, `null` included.",
      examples: [{ status: "shipped" }],
    },
    event: ref("Event"),
    store: { type: "boolean", description: STORE_DESCRIPTION },
    dedupeKey: {
      type: "string",
      minLength: 1,
      maxLength: MAX_DEDUPE_KEY_LENGTH,
      description: DEDUPE_KEY_DESCRIPTION,
    },
  },
};

const PUBLISH_FORM: Schema = {
  type: "object",
  description:
    "The message as form fields (as Mercure's publishers send them), each at most once (a field given twice is a 422).",
  required: ["topic", "data"],
  additionalProperties: false,
  properties: {
    topic: ref("Topic"),
    data: {
      type: "string",
      description:
        'A JSON text: `{"status":"shipped"}`, `123` (the number), `"hello"` (a string is sent quoted). Text that is not JSON is refused (422), not guessed at.',
      examples: ['{"status":"shipped"}'],
    },
    event: ref("Event"),
    store: { enum: ["true", "false"], description: STORE_DESCRIPTION },
    dedupeKey: {
      type: "string",
      minLength: 1,
      maxLength: MAX_DEDUPE_KEY_LENGTH,
      description: DEDUPE_KEY_DESCRIPTION,
    },
  },
};

export const SCHEMAS: Record<string, Schema> = {
  Problem: PROBLEM,
  SluiceError: SLUICE_ERROR,
  Topic: TOPIC,
  Event: EVENT,
  PublishMessage: PUBLISH_MESSAGE,
  PublishForm: PUBLISH_FORM,
  PublishBatch: {
    type: "object",
    required: ["messages"],
    additionalProperties: false,
    properties: {
      messages: {
        type: "array",
        minItems: 1,
        maxItems: MAX_BATCH,
        items: ref("PublishMessage"),
      },
    },
  },
  Published: {
    type: "object",
    required: ["id"],
    additionalProperties: false,
    properties: {
      id: {
        type: "string",
        description:
          'The stored message\'s id (subscribers resume after it); `""` for a message published with `store: false`.',
        examples: ["1719830400000-0"],
      },
    },
  },
  PublishedBatch: {
    type: "object",
    required: ["ids"],
    additionalProperties: false,
    properties: {
      ids: {
        type: "array",
        items: { type: "string" },
        description: "One id per message, in order.",
      },
    },
  },
  History: {
    type: "object",
    required: ["messages"],
    additionalProperties: false,
    properties: {
      messages: {
        type: "array",
        description: "Oldest first.",
        items: {
          type: "object",
          required: ["id", "event", "data"],
          additionalProperties: false,
          properties: {
            id: { type: "string" },
            event: { type: "string", description: "`message` when it was published without one." },
            data: { description: "The message's JSON value." },
          },
        },
      },
    },
  },
  Presence: {
    type: "object",
    required: ["members"],
    additionalProperties: false,
    properties: {
      members: {
        type: "array",
        description:
          "Who joined the topic's presence on /rt, on every hub of the broker, oldest first.",
        items: {
          type: "object",
          required: ["clientId", "info", "since"],
          additionalProperties: false,
          properties: {
            clientId: { type: "string" },
            info: {
              description: "What the subscriber gave when it joined (JSON; `null` if nothing).",
            },
            since: {
              type: "integer",
              description: "When it joined: milliseconds since the epoch.",
            },
          },
        },
      },
    },
  },
  Health: {
    type: "object",
    required: ["status", "broker"],
    additionalProperties: false,
    properties: {
      status: { const: "ok" },
      broker: { enum: ["memory", "redis"] },
    },
  },
  HealthProblem: {
    type: "object",
    description: "RFC 9457 problem details of a broker that does not answer.",
    required: ["type", "title", "status", "detail", "broker"],
    properties: {
      type: { const: "about:blank" },
      title: { const: "Service Unavailable" },
      status: { const: 503 },
      detail: { type: "string" },
      broker: { enum: ["memory", "redis"] },
    },
  },
};

export const TOPIC_PARAMETER = {
  name: "topic",
  in: "path",
  required: true,
  description:
    "The topic, percent-encoded (`chat:lobby` or `chat%3Alobby`). A topic holding `/` is written with its `/` as it is, not encoded: `/topics/orders/eu/history` names the topic `orders/eu` (the last segment names what is read). An encoded `/` (`%2F`) is refused with 400 before routing, as everywhere in sluice. A path that names no valid topic (empty, over 1 024 characters) is a 404.",
  schema: { type: "string", minLength: 1, maxLength: MAX_TOPIC_LENGTH },
  examples: { plain: { value: "chat:lobby" }, withSlash: { value: "orders/eu" } },
};

export const HEADERS = {
  RetryAfter: {
    description: "Seconds to wait before trying again.",
    required: true,
    schema: { type: "integer", minimum: 1 },
  },
  RetryAfterWhenBusy: {
    description:
      "Seconds to wait before trying again: given when the broker is down or the hub is full, not when it shuts down.",
    schema: { type: "integer", minimum: 1 },
  },
  WwwAuthenticate: {
    description: `The challenge: \`Bearer realm="${HUB_REALM}"\` (\`realm="api"\` on /rt), with \`error="invalid_token"\` (or \`invalid_request\`) and \`error_description\` when a token was sent.`,
    required: true,
    schema: { type: "string" },
    examples: {
      missing: { value: `Bearer realm="${HUB_REALM}"` },
    },
  },
};
