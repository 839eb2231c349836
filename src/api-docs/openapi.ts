import type { ApiCatalog, HttpRouteEntry, RealtimeEntry, SseRouteEntry } from "./catalog.js";
import { type ApiDocumentOptions, type ApiInfo, infoOf } from "./document-options.js";
import { routeParameters } from "./http-parameters.js";
import type { JsonSchema } from "./json-schema.js";
import { PROBLEM_SCHEMA_NAME, validationProblemSchema } from "./problem-schema.js";
import { routeTemplate } from "./route-template.js";
import { SchemaComponents } from "./schema-components.js";
import { httpUrl } from "./server-urls.js";
import { sseOperation } from "./sse-operation.js";
import { UniqueNames } from "./unique-names.js";

/** An OpenAPI 3.1 document: plain JSON, to serve as it is or to extend. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: ApiInfo;
  servers?: { url: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [extension: `x-${string}`]: unknown;
}

/** The methods an OpenAPI 3.1 path item has; routes of other methods are left out. */
const OPENAPI_METHODS = new Set([
  "get",
  "put",
  "post",
  "delete",
  "options",
  "head",
  "patch",
  "trace",
]);
/** What an `app.all()` route is documented under: each of these its path has no route of. */
const ANY_METHOD_AS = ["get", "put", "post", "delete", "patch"];

type Operation = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of a catalog: its HTTP routes (schemas as JSON Schema 2020-12),
 * its SSE routes and real-time endpoints' SSE side as `text/event-stream` GETs. WebSocket
 * routes, topics and real-time frames are in the AsyncAPI document.
 */
export function openApiDocument(
  catalog: ApiCatalog,
  info: ApiInfo,
  options: ApiDocumentOptions = {},
): OpenApiDocument {
  const names = new UniqueNames([PROBLEM_SCHEMA_NAME]);
  const writer = new PathsWriter(new SchemaComponents("draft-2020-12", options.jsonSchema, names));
  const entries = catalog.entries;
  const realtimePaths = new Set(entries.filter((e) => e.kind === "realtime").map((e) => e.path));
  for (const entry of entries) {
    if (entry.kind === "http" && entry.method !== "*") writer.http(entry);
    // A real-time endpoint's SSE side is documented with its topics, below.
    else if (entry.kind === "sse" && !realtimePaths.has(entry.path)) writer.sse(entry);
    else if (entry.kind === "realtime") writer.realtime(entry);
  }
  // After the others: an app.all() route answers only the methods its path has no route of.
  for (const entry of entries) {
    if (entry.kind === "http" && entry.method === "*") writer.anyMethod(entry);
  }
  return writer.document(info, options);
}

class PathsWriter {
  readonly #paths: Record<string, Record<string, unknown>> = {};
  readonly #operationIds = new UniqueNames();
  readonly #components: SchemaComponents;
  #validates = false;

  constructor(components: SchemaComponents) {
    this.#components = components;
  }

  http(entry: HttpRouteEntry, method = entry.method.toLowerCase(), name = entry.name): void {
    if (!OPENAPI_METHODS.has(method)) return;
    const route = routeTemplate(entry.path);
    const hint = `${method} ${entry.path}`;
    const { body, query, params, headers, response } = entry.schemas;
    const operation: Operation = {};
    if (name !== undefined) operation.operationId = this.#operationIds.take(name);
    const parameters = routeParameters(route, entry.schemas, this.#components, hint);
    if (parameters.length > 0) operation.parameters = parameters;
    if (body) {
      const schema = this.#components.embed(body, "input", `${hint} body`);
      operation.requestBody = { required: true, content: { "application/json": { schema } } };
    }
    operation.responses = response
      ? { "200": jsonResponse(this.#components.embed(response, "input", `${hint} response`)) }
      : {
          default: { description: "The handler's answer (the route declares no response schema)." },
        };
    if (body || query || params || headers) {
      this.#validates = true;
      (operation.responses as Record<string, unknown>)["400"] = {
        $ref: `#/components/responses/${PROBLEM_SCHEMA_NAME}`,
      };
    }
    this.#add(route.template, method, operation);
  }

  anyMethod(entry: HttpRouteEntry): void {
    const path = this.#paths[routeTemplate(entry.path).template] ?? {};
    for (const method of ANY_METHOD_AS) {
      if (path[method] !== undefined) continue;
      this.http(entry, method, entry.name && `${entry.name}_${method}`);
    }
  }

  sse(entry: SseRouteEntry): void {
    const route = routeTemplate(entry.path);
    const parameters = routeParameters(route, {}, this.#components, `get ${entry.path}`);
    this.#add(route.template, "get", sseOperation(entry, parameters, this.#components));
  }

  realtime(entry: RealtimeEntry): void {
    const route = routeTemplate(entry.path);
    const parameters = routeParameters(route, {}, this.#components, `get ${entry.path}`);
    this.#add(route.template, "get", sseOperation(entry, parameters, this.#components));
  }

  document(info: ApiInfo, options: ApiDocumentOptions): OpenApiDocument {
    const document: OpenApiDocument = { openapi: "3.1.0", info: infoOf(info), paths: this.#paths };
    if (options.servers !== undefined && options.servers.length > 0) {
      document.servers = options.servers.map((server) => ({
        url: httpUrl(server.url),
        ...(server.description === undefined ? {} : { description: server.description }),
      }));
    }
    const schemas: Record<string, JsonSchema> = this.#components.finish() ?? {};
    const components: Record<string, Record<string, unknown>> = {};
    if (this.#validates) {
      schemas[PROBLEM_SCHEMA_NAME] = validationProblemSchema();
      components.responses = {
        [PROBLEM_SCHEMA_NAME]: {
          description: "The request failed its schemas: each issue names where and which rule.",
          content: {
            "application/problem+json": {
              schema: { $ref: `#/components/schemas/${PROBLEM_SCHEMA_NAME}` },
            },
          },
        },
      };
    }
    // Validators want an entry in paths or components even when the app has no route.
    if (Object.keys(schemas).length > 0 || Object.keys(this.#paths).length === 0) {
      components.schemas = schemas;
    }
    if (Object.keys(components).length > 0) document.components = components;
    return document;
  }

  #add(template: string, method: string, operation: Operation): void {
    this.#paths[template] ??= {};
    this.#paths[template][method] = operation;
  }
}

function jsonResponse(schema: JsonSchema): Record<string, unknown> {
  return { description: "OK", content: { "application/json": { schema } } };
}
