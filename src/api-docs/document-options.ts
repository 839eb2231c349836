import type { StandardSchemaV1 } from "../util/standard-schema.js";
import { httpUrl } from "./server-urls.js";

/** The `info` of an API document: what it is called and which version of the API it shows. */
export interface ApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

/**
 * A server the API is reached at: an `http(s)://` or `ws(s)://` URL (a path is the base the
 * app is mounted under). OpenAPI lists its http(s) form; AsyncAPI a `ws`/`wss` server for the
 * WebSocket channels and an `http`/`https` server for the SSE channels.
 */
export interface ApiServer {
  readonly url: string;
  readonly description?: string;
  /** The server's key in the AsyncAPI document (letters, digits, `_`, `-`). Default `server1`, `server2`... */
  readonly name?: string;
}

/** Whether a schema is wanted as what it accepts (`"input"`) or what it gives back (`"output"`). */
export type SchemaDirection = "input" | "output";

/**
 * Converts a schema that offers no Standard JSON Schema (plain valibot, say) to JSON Schema,
 * or returns undefined to leave it to the default. `target` is the JSON Schema dialect
 * the document needs: "draft-2020-12" for OpenAPI 3.1, "draft-07" for AsyncAPI 3.0.
 *
 * ```ts
 * import { toJsonSchema } from "@valibot/to-json-schema";
 * app.openapi(info, { jsonSchema: (schema) => schema["~standard"].vendor === "valibot" ? toJsonSchema(schema as never) : undefined });
 * ```
 */
export type JsonSchemaConverter = (
  schema: StandardSchemaV1,
  io: SchemaDirection,
  target: "draft-2020-12" | "draft-07",
) => object | undefined;

/** The second argument of `app.openapi()` and `app.asyncapi()`. */
export interface ApiDocumentOptions {
  readonly servers?: readonly ApiServer[];
  /** For schemas without Standard JSON Schema; tried before it when given. */
  readonly jsonSchema?: JsonSchemaConverter;
}

const SERVER_NAME = /^[A-Za-z0-9_-]+$/;
const SERVER_URL = /^(?:https?|wss?):\/\/[^/\s]+/;

/** Throws a TypeError naming what is missing or wrong; `method` is "openapi" or "asyncapi". */
export function checkDocumentArguments(
  method: string,
  info: unknown,
  options: unknown,
): asserts info is ApiInfo {
  if (typeof info !== "object" || info === null) {
    throw new TypeError(
      `app.${method}(info) needs an info object: { title, version, description? }`,
    );
  }
  const { title, version, description } = info as Record<string, unknown>;
  for (const [name, value] of [
    ["title", title],
    ["version", version],
  ] as const) {
    if (typeof value !== "string" || value === "") {
      throw new TypeError(`app.${method}(info): info.${name} must be a non-empty string`);
    }
  }
  if (description !== undefined && typeof description !== "string") {
    throw new TypeError(`app.${method}(info): info.description must be a string when given`);
  }
  checkOptions(method, options);
}

function checkOptions(method: string, options: unknown): asserts options is ApiDocumentOptions {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`app.${method}(info, options): options must be an object`);
  }
  const { servers, jsonSchema } = options as Record<string, unknown>;
  if (jsonSchema !== undefined && typeof jsonSchema !== "function") {
    throw new TypeError(
      `app.${method}(info, options): options.jsonSchema must be a function (schema, io, target) => JSON Schema`,
    );
  }
  if (servers === undefined) return;
  if (!Array.isArray(servers)) {
    throw new TypeError(`app.${method}(info, options): options.servers must be an array`);
  }
  servers.forEach((server: unknown, index) => {
    checkServer(method, server, index);
  });
}

function checkServer(method: string, server: unknown, index: number): void {
  const where = `app.${method}(info, options): options.servers[${index}]`;
  const { url, name, description } = (server ?? {}) as Record<string, unknown>;
  if (typeof url !== "string" || !SERVER_URL.test(url) || !URL.canParse(httpUrl(url))) {
    throw new TypeError(`${where}.url must be an http(s):// or ws(s):// URL, got ${String(url)}`);
  }
  if (name !== undefined && (typeof name !== "string" || !SERVER_NAME.test(name))) {
    throw new TypeError(`${where}.name must be letters, digits, "_" or "-"`);
  }
  if (description !== undefined && typeof description !== "string") {
    throw new TypeError(`${where}.description must be a string`);
  }
}

/** The info as the documents carry it: only its known fields, copied. */
export function infoOf(info: ApiInfo): ApiInfo {
  const { title, version, description } = info;
  return description === undefined ? { title, version } : { title, version, description };
}
