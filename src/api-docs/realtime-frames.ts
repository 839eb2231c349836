import { ERROR_CODES } from "../protocol/frames.js";
import { MAX_ISSUE_MESSAGE_LENGTH, MAX_REPORTED_ISSUES } from "../util/validation-issue.js";
import type { JsonSchema } from "./json-schema.js";

/*
 * The sluice.v1 frames (docs/protocol.md) as JSON Schema draft-07, for the AsyncAPI messages
 * of a real-time endpoint: each frame with its `data`, `params` or `result` slot filled by
 * the contract's schema.
 */

const REF: JsonSchema = {
  description: "Chosen by the client; the reply repeats it.",
  anyOf: [{ type: "integer" }, { type: "string", maxLength: 64 }],
};

function frame(type: string, fields: Record<string, JsonSchema>, optional: string[] = []) {
  const required = ["type", ...Object.keys(fields).filter((name) => !optional.includes(name))];
  return {
    type: "object",
    required,
    properties: { type: { const: type }, ...fields },
  };
}

export function subscribeFrame(topic: JsonSchema): JsonSchema {
  return frame(
    "subscribe",
    {
      ref: REF,
      topic,
      since: { type: "string", description: "Resume after this message id." },
      replay: { type: "integer", minimum: 1, description: "The latest N messages first." },
    },
    ["since", "replay"],
  );
}

export function publishFrame(topic: JsonSchema, data: JsonSchema): JsonSchema {
  return frame(
    "publish",
    {
      ref: REF,
      topic,
      data,
      event: { type: "string", description: 'The event type; not "reset".' },
      mid: { type: "string", minLength: 1, maxLength: 64, description: "For exactly-once." },
    },
    ["event", "mid"],
  );
}

export function messageFrame(topic: JsonSchema, data: JsonSchema): JsonSchema {
  return frame("message", {
    topic,
    id: { type: "string", description: "The message's position in its topic." },
    event: { type: "string" },
    data,
  });
}

export function callFrame(method: string, params: JsonSchema): JsonSchema {
  return frame("call", { ref: REF, method: { const: method }, params }, ["params"]);
}

export function okReplyFrame(result: JsonSchema): JsonSchema {
  return frame("reply", { ref: REF, ok: { const: true }, result });
}

export const SUBSCRIBE_RESULT: JsonSchema = {
  type: "object",
  required: ["position"],
  properties: { position: { type: ["string", "null"] } },
};

export const PUBLISH_RESULT: JsonSchema = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string" } },
};

export function errorReplyFrame(): JsonSchema {
  return frame("reply", {
    ref: { anyOf: [REF, { type: "null" }] },
    ok: { const: false },
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { enum: [...ERROR_CODES] },
        message: { type: "string" },
        issues: {
          description: "With `invalid`, for data or params a schema refused: each reason.",
          type: "array",
          maxItems: MAX_REPORTED_ISSUES,
          items: {
            type: "object",
            required: ["path", "pointer", "message"],
            properties: {
              path: { type: "string", examples: ["items[0].name"] },
              pointer: { type: "string", examples: ["/items/0/name"] },
              message: { type: "string", maxLength: MAX_ISSUE_MESSAGE_LENGTH },
            },
          },
        },
      },
    },
  });
}
