import { ACCEPTED_BODY_TYPES } from "../http/request-parts.js";
import { MAX_ISSUE_MESSAGE_LENGTH, MAX_REPORTED_ISSUES } from "../util/validation-issue.js";
import type { JsonSchema } from "./json-schema.js";

/** The component names of the 400 answer every validating route shares. */
export const PROBLEM_SCHEMA_NAME = "ValidationProblem";
/** The component names of the 415 answer of a route with a `body` schema. */
export const MEDIA_TYPE_PROBLEM_NAME = "UnsupportedMediaTypeProblem";

/**
 * The body of a request refused by its schemas: RFC 9457 problem details with the issues
 * listed (`in`: which part of the request; `path`/`pointer`: where in it; `message`: the
 * rule broken), as sluice answers it with `application/problem+json`.
 */
export function validationProblemSchema(): JsonSchema {
  return {
    type: "object",
    description: "A request refused by its schemas (RFC 9457 problem details).",
    required: ["type", "title", "status", "detail", "issues"],
    properties: {
      type: { type: "string" },
      title: { type: "string", examples: ["Bad Request"] },
      status: { type: "integer", const: 400 },
      detail: { type: "string", examples: ["Invalid body: name: Expected string"] },
      issues: {
        type: "array",
        maxItems: MAX_REPORTED_ISSUES,
        items: {
          type: "object",
          required: ["in", "path", "pointer", "message"],
          properties: {
            in: {
              type: "string",
              description:
                'The part of the request (body, query, params, headers), or what a handler validated (a topic\'s data: `topic "chat:1"`).',
              examples: ["body", "query", "params", "headers", 'topic "chat:lobby"'],
            },
            path: { type: "string", examples: ["items[0].name"] },
            pointer: { type: "string", examples: ["/items/0/name"] },
            message: { type: "string", maxLength: MAX_ISSUE_MESSAGE_LENGTH },
          },
        },
      },
      requestId: { type: "string" },
    },
  };
}

/** The body of a 415: a body in a media type the route does not read, and those it reads. */
export function mediaTypeProblemSchema(): JsonSchema {
  return {
    type: "object",
    description: "A body in a media type the route does not read (RFC 9457 problem details).",
    required: ["type", "title", "status", "detail", "accepted"],
    properties: {
      type: { type: "string" },
      title: { type: "string", examples: ["Unsupported Media Type"] },
      status: { type: "integer", const: 415 },
      detail: { type: "string" },
      accepted: { type: "array", items: { type: "string" }, examples: [[...ACCEPTED_BODY_TYPES]] },
      requestId: { type: "string" },
    },
  };
}
