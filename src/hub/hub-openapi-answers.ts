import { MAX_TOPIC_LENGTH, ref } from "./hub-openapi-schemas.js";

// The answers of the hub's OpenAPI document (hub-openapi.ts): problem documents, sluice's own
// error body, and the responses several operations share.

export const PROBLEM_JSON = "application/problem+json";
/** Sluice's own error body: answers the App gives before the hub's code runs, and /rt's. */
export const SLUICE_JSON = "application/json";

export type Answer = Record<string, unknown>;

export const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** A problem answer: its description, an example `detail` and the members it adds. */
export function problemAnswer(
  status: number,
  description: string,
  detail: string,
  options: { required?: string[]; example?: Record<string, unknown>; headers?: Answer } = {},
): Answer {
  const { required = [], example = {}, headers } = options;
  const schema = {
    allOf: [ref("Problem"), { properties: { status: { const: status } }, required }],
  };
  const value = {
    type: "about:blank",
    title: TITLES[status],
    status,
    detail,
    ...example,
    requestId: "3f9a1c02-1b",
  };
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { [PROBLEM_JSON]: { schema, examples: { [`problem${status}`]: { value } } } },
  };
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export const sluiceError = (description: string, message: string, status: number): Answer => ({
  description,
  content: {
    [SLUICE_JSON]: {
      schema: ref("SluiceError"),
      examples: {
        [`error${status}`]: { value: { error: TITLES[status], message, requestId: "3f9a1c02-1c" } },
      },
    },
  },
});

export const ENCODED_SLASH =
  "An encoded / or \\ (%2F, %5C) in the request path is refused: it would change the path's segments";

export const SHARED_RESPONSES: Record<string, Answer> = {
  Unauthorized: problemAnswer(
    401,
    "No bearer token, a key that is not one of the hub's, or a JWT that is malformed, badly signed, expired, not yet valid, or from another issuer or audience.",
    "The bearer token is neither a publish key of this hub nor a JWT",
    { headers: { "WWW-Authenticate": { $ref: "#/components/headers/WwwAuthenticate" } } },
  ),
  Forbidden: problemAnswer(
    403,
    "The JWT's topics claim does not allow the topic (its `publish` patterns to publish, its `subscribe` patterns to read).",
    'The token does not allow to publish to "admin": no pattern of its publish list matches it',
  ),
  TooManyRequests: problemAnswer(
    429,
    "The publisher (a publish key, or a JWT's issuer and subject) is over its rate limit (`--publish-rate`, default a burst of 200 then 100 messages a second; one per message published, one per read). Nothing was done.",
    "Too many publishes from this publisher: 100 messages a second after a burst of 200; retry in 1 s",
    { headers: { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } },
  ),
  InternalError: problemAnswer(
    500,
    "The hub failed in a way it did not expect; its log has the cause under `requestId`.",
    "The hub failed to answer; its log has the cause under this requestId",
  ),
  Unavailable: {
    description:
      "`application/problem+json`: the broker (Redis) is unavailable, nothing was stored (`Retry-After: 5`), or the JWKS to verify a JWT cannot be fetched. `application/json`: the hub is shutting down.",
    headers: { "Retry-After": { $ref: "#/components/headers/RetryAfterWhenBusy" } },
    content: {
      [PROBLEM_JSON]: problemMedia(
        503,
        "The broker is unavailable, retry later: Redis is unavailable (connection lost)",
      ),
      [SLUICE_JSON]: sluiceMedia(503, "The server is shutting down"),
    },
  },
};

export const UNKNOWN_TOPIC = problemAnswer(
  404,
  "A topic the hub does not serve (no `--topics` pattern matches it), whatever the credential allows.",
  'Unknown topic "elsewhere": this hub has no such topic (its --topics patterns do not match it)',
);

export const TOO_LARGE = problemAnswer(
  413,
  "A body over the hub's `--max-body` (default 1 MiB): refused from its Content-Length before it is read, or as soon as a chunked body passes it.",
  "Request body is larger than the limit of 1048576 bytes",
  { required: ["limit"], example: { limit: 1048576 } },
);

export function unsupportedType(accepted: string[]): Answer {
  return problemAnswer(
    415,
    `A body that is not ${accepted.join(" or ")} (or has no Content-Type).`,
    `Content-Type text/plain is not accepted here; send ${accepted.join(" or ")}`,
    { required: ["accepted"], example: { accepted } },
  );
}

/** The answers every operation of the publish API may give, beside its own. */
export const PUBLISHER_REFUSALS = {
  "401": responseRef("Unauthorized"),
  "429": responseRef("TooManyRequests"),
  "500": responseRef("InternalError"),
  "503": responseRef("Unavailable"),
};

/** A batch's refusal of one message: the same answer, its example naming the message. */
export function withIndex(answer: Answer): Answer {
  const content = answer.content as Record<string, Answer>;
  const media = content[PROBLEM_JSON];
  const examples = media.examples as Record<string, { value: Answer }>;
  const [name, example] = Object.entries(examples)[0];
  return {
    ...answer,
    description: `${answer.description} \`index\` names the first message refused; nothing was published.`,
    content: {
      [PROBLEM_JSON]: {
        ...media,
        examples: { [name]: { value: { ...example.value, index: 2 } } },
      },
    },
  };
}

export function readForbidden(): Answer {
  return problemAnswer(
    403,
    "The JWT's `subscribe` patterns do not match the topic.",
    'The token does not allow to read "orders:42": no pattern of its subscribe list matches it',
  );
}

export function unknownTopicOrPath(): Answer {
  return {
    ...UNKNOWN_TOPIC,
    description: `${UNKNOWN_TOPIC.description} Also a path that names no valid topic (empty, over ${MAX_TOPIC_LENGTH} characters).`,
  };
}

export function problemMedia(status: number, detail: string): Answer {
  return (problemAnswer(status, "", detail).content as Record<string, Answer>)[PROBLEM_JSON];
}

export function sluiceMedia(status: number, message: string): Answer {
  return (sluiceError("", message, status).content as Record<string, Answer>)[SLUICE_JSON];
}
