import type { JsonSchema } from "./json-schema.js";

/** The component names of the 400 answer every validating route shares. */
export const PROBLEM_SCHEMA_NAME = "ValidationProblem";

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
        maxItems: 100,
        items: {
          type: "object",
          required: ["in", "path", "pointer", "message"],
          properties: {
            in: { type: "string", enum: ["body", "query", "params", "headers"] },
            path: { type: "string", examples: ["items[0].name"] },
            pointer: { type: "string", examples: ["/items/0/name"] },
            message: { type: "string", maxLength: 300 },
          },
        },
      },
      requestId: { type: "string" },
    },
  };
}
