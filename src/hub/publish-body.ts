import { readBody } from "../http/body.js";
import type { SluiceRequest } from "../http/request.js";
import { parseJson } from "../http/safe-json.js";
import { HubProblem } from "./hub-problem.js";

export const JSON_TYPE = "application/json";
export const FORM_TYPE = "application/x-www-form-urlencoded";

/**
 * A publish request's body as members: JSON (an object), or, where `types` allows it,
 * form-encoded fields (each given once; `data` a JSON text, `store` "true" or "false", as
 * Mercure's publishers send them). Read up to `maxBody` bytes only: past it, 413 before the
 * rest is read (at once when Content-Length says so). Another media type is a 415; a body
 * that does not parse, or JSON that is no object, a 422.
 */
export async function readPublishBody(
  request: SluiceRequest,
  maxBody: number,
  types: readonly string[],
): Promise<Record<string, unknown>> {
  const type = mediaTypeOf(request);
  if (type === undefined || !types.includes(type)) {
    const received = type === undefined ? "A body with no Content-Type" : `Content-Type ${type}`;
    throw new HubProblem(415, `${received} is not accepted here; send ${types.join(" or ")}`, {
      accepted: types,
    });
  }
  const text = (await readBody(request.raw, maxBody)).toString("utf8");
  return type === FORM_TYPE ? formMembers(text) : jsonMembers(text);
}

function mediaTypeOf(request: SluiceRequest): string | undefined {
  const header = request.header("content-type");
  if (header === undefined) return undefined;
  return header.split(";", 1)[0].trim().toLowerCase() || undefined;
}

function jsonMembers(text: string): Record<string, unknown> {
  if (text.trim() === "")
    throw new HubProblem(422, "The body is empty; a JSON object was expected");
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    throw new HubProblem(422, `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HubProblem(422, `The body must be a JSON object, got ${kindOf(value)}`);
  }
  return value as Record<string, unknown>;
}

function formMembers(text: string): Record<string, unknown> {
  const fields = new URLSearchParams(text);
  const members: Record<string, unknown> = {};
  for (const [name, value] of fields) {
    if (Object.hasOwn(members, name)) {
      throw new HubProblem(
        422,
        `The form field ${JSON.stringify(name)} is given more than once: one message has one topic (publish to several with POST /publish/batch)`,
      );
    }
    members[name] = formValue(name, value);
  }
  return members;
}

/** `data` is a JSON text, `store` a boolean's name; the other fields are strings. */
function formValue(name: string, value: string): unknown {
  if (name === "data") {
    try {
      return parseJson(value);
    } catch (error) {
      throw new HubProblem(
        422,
        `The form field data must be a JSON text (a string is sent quoted: "\\"hello\\""): ${(error as Error).message}`,
      );
    }
  }
  if (name === "store") {
    if (value === "true") return true;
    if (value === "false") return false;
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}
