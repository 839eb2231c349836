import { DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT } from "./history-query.js";
import {
  type Answer,
  ENCODED_SLASH,
  PROBLEM_JSON,
  PUBLISHER_REFUSALS,
  problemAnswer,
  problemMedia,
  readForbidden,
  responseRef,
  SHARED_RESPONSES,
  SLUICE_JSON,
  sluiceMedia,
  TOO_LARGE,
  UNKNOWN_TOPIC,
  unknownTopicOrPath,
  unsupportedType,
  withIndex,
} from "./hub-openapi-answers.js";
import { PUBLISHER_SECURITY, ref } from "./hub-openapi-schemas.js";
import { MAX_BATCH } from "./publish-batch.js";
import { FORM_TYPE, JSON_TYPE } from "./publish-body.js";

// The operations of the publish API (publish-api.ts) in the hub's OpenAPI document.

export function publishOperation(): Answer {
  return {
    operationId: "publish",
    tags: ["publish"],
    summary: "Publish one message",
    description:
      "Publishes one message to its topic: answered once the broker stored it, with its id. Rate-limited per publisher.",
    security: PUBLISHER_SECURITY,
    requestBody: {
      required: true,
      content: {
        [JSON_TYPE]: {
          schema: ref("PublishMessage"),
          examples: {
            json: { value: { topic: "orders:42", data: { status: "shipped" }, event: "status" } },
          },
        },
        [FORM_TYPE]: {
          schema: ref("PublishForm"),
          examples: { form: { value: { topic: "orders:42", data: '{"status":"shipped"}' } } },
        },
      },
    },
    responses: {
      "200": {
        description: "Stored (or, with `store: false`, delivered live).",
        content: { [JSON_TYPE]: { schema: ref("Published") } },
      },
      ...PUBLISHER_REFUSALS,
      "403": responseRef("Forbidden"),
      "404": UNKNOWN_TOPIC,
      "413": TOO_LARGE,
      "415": unsupportedType([JSON_TYPE, FORM_TYPE]),
      "422": problemAnswer(
        422,
        "A body that does not parse, JSON that is no object, a missing `topic` or `data`, a topic that is no name, a bad `event`, `store` not a boolean, a `dedupeKey` that is no key, an unknown member, a form field given twice, form `data` that is not a JSON text.",
        "evnt is not a member of a message: it has topic, data, event, store and dedupeKey",
      ),
    },
  };
}

export function batchOperation(): Answer {
  return {
    operationId: "publishBatch",
    tags: ["publish"],
    summary: "Publish several messages",
    description: `Up to ${MAX_BATCH} messages, to one topic or several. Every message is checked first: if one is refused, nothing is published and the problem's \`index\` names it. Then they are published in order. If the broker fails midway, the messages after the failed one are not tried: the 503 (500 for another failure) has the \`ids\` of those stored and the \`index\` of the one that failed; send the rest again (with the same \`dedupeKey\`s, nothing is stored twice). Each message spends one token of the rate limit.`,
    security: PUBLISHER_SECURITY,
    requestBody: {
      required: true,
      content: {
        [JSON_TYPE]: {
          schema: ref("PublishBatch"),
          examples: {
            batch: {
              value: {
                messages: [
                  { topic: "orders:42", data: { status: "shipped" } },
                  { topic: "orders:43", data: { status: "packed" }, dedupeKey: "o43-packed" },
                ],
              },
            },
          },
        },
      },
    },
    responses: {
      "200": {
        description: "Every message stored, in order.",
        content: { [JSON_TYPE]: { schema: ref("PublishedBatch") } },
      },
      ...PUBLISHER_REFUSALS,
      "403": withIndex(SHARED_RESPONSES.Forbidden),
      "404": withIndex(UNKNOWN_TOPIC),
      "413": TOO_LARGE,
      "415": unsupportedType([JSON_TYPE]),
      "422": problemAnswer(
        422,
        `A body that does not parse or is no object, a member other than \`messages\`, \`messages\` not a list of 1 to ${MAX_BATCH}, or a message refused as POST /publish refuses it (\`index\` names the first).`,
        "messages[3].data is required: the message's JSON value (null included)",
        { example: { index: 3 } },
      ),
    },
  };
}

const READ_DESCRIPTION =
  "Allowed to a publish key, or a JWT whose `subscribe` patterns match the topic. Spends one token of the publisher's rate limit.";

export function historyOperation(): Answer {
  return {
    operationId: "topicHistory",
    tags: ["read"],
    summary: "A topic's stored messages",
    description: `Oldest first. Without \`after\`, the newest \`limit\` messages; with \`after=<id>\`, the \`limit\` messages after it (none when the log no longer holds that id). To page through, pass the last id you got as \`after\`. ${READ_DESCRIPTION}`,
    security: PUBLISHER_SECURITY,
    parameters: [
      { $ref: "#/components/parameters/topic" },
      {
        name: "after",
        in: "query",
        description: "The id to read after (at most 200 characters; empty: none).",
        schema: { type: "string", maxLength: 200 },
      },
      {
        name: "limit",
        in: "query",
        description: `How many messages at most (default ${DEFAULT_HISTORY_LIMIT}).`,
        schema: { type: "integer", minimum: 1, maximum: MAX_HISTORY_LIMIT },
      },
    ],
    responses: {
      "200": {
        description: "The messages.",
        content: { [JSON_TYPE]: { schema: ref("History") } },
      },
      "400": {
        description: `\`application/problem+json\`: a bad query: \`limit\` not a whole number from 1 to ${MAX_HISTORY_LIMIT}, \`after\` over 200 characters, a parameter given twice. \`application/json\`: an encoded \`/\` in the path (write a topic's \`/\` as it is).`,
        content: {
          [PROBLEM_JSON]: problemMedia(400, 'limit must be a whole number from 1 to 1000, got "0"'),
          [SLUICE_JSON]: sluiceMedia(400, ENCODED_SLASH),
        },
      },
      ...PUBLISHER_REFUSALS,
      "403": readForbidden(),
      "404": unknownTopicOrPath(),
    },
  };
}

export function presenceOperation(): Answer {
  return {
    operationId: "topicPresence",
    tags: ["read"],
    summary: "Who is in a topic's presence",
    description: `The subscribers that joined the topic's presence on /rt, on every hub sharing the broker, oldest first. ${READ_DESCRIPTION}`,
    security: PUBLISHER_SECURITY,
    parameters: [{ $ref: "#/components/parameters/topic" }],
    responses: {
      "200": {
        description: "The members.",
        content: { [JSON_TYPE]: { schema: ref("Presence") } },
      },
      "400": {
        description: "An encoded `/` in the path (write a topic's `/` as it is).",
        content: { [SLUICE_JSON]: sluiceMedia(400, ENCODED_SLASH) },
      },
      ...PUBLISHER_REFUSALS,
      "403": readForbidden(),
      "404": unknownTopicOrPath(),
    },
  };
}
