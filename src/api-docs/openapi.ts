import { ACCEPTED_BODY_TYPES } from "../http/request-parts.js";
import type { TopicPatterns } from "../topics/topic-pattern.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import { acceptsNow, acceptsOnlyUndefined } from "./accepts-value.js";
import type { ApiCatalog, HttpRouteEntry, RealtimeEntry, SseRouteEntry } from "./catalog.js";
import { type ApiDocumentOptions, type ApiInfo, infoOf } from "./document-options.js";
import { routeParameters } from "./http-parameters.js";
import { isUndocumented, type JsonSchema } from "./json-schema.js";
import {
  MEDIA_TYPE_PROBLEM_NAME,
  mediaTypeProblemSchema,
  PROBLEM_SCHEMA_NAME,
  validationProblemSchema,
} from "./problem-schema.js";
import { declaredTopics } from "./realtime-topics.js";
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
  const names = new UniqueNames([PROBLEM_SCHEMA_NAME, MEDIA_TYPE_PROBLEM_NAME]);
  const writer = new PathsWriter(
    new SchemaComponents("draft-2020-12", options.jsonSchema, names),
    declaredTopics(catalog),
  );
  const entries = catalog.entries;
  const realtimePaths = new Set(entries.filter((e) => e.kind === "realtime").map((e) => e.path));
  for (const entry of entries) {
    if (entry.kind === "http" && entry.method !== "*") writer.http(entry);
    // A real-time endpoint's SSE side is documented with its topics, below.
    else if (entry.kind === "sse" && !realtimePaths.has(entry.path)) writer.eventStream(entry);
    else if (entry.kind === "realtime") writer.eventStream(entry);
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
  readonly #topics: TopicPatterns<StandardSchemaV1>;
  #validates = false;
  #readsBodies = false;

  constructor(components: SchemaComponents, topics: TopicPatterns<StandardSchemaV1>) {
    this.#components = components;
    this.#topics = topics;
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
    if (body) operation.requestBody = this.#requestBody(body, hint);
    const responses: Record<string, unknown> = response
      ? this.#responses(response, hint)
      : {
          default: { description: "The handler's answer (the route declares no response schema)." },
        };
    if (body || query || params || headers) {
      this.#validates = true;
      responses["400"] = { $ref: `#/components/responses/${PROBLEM_SCHEMA_NAME}` };
    }
    if (body) {
      this.#readsBodies = true;
      responses["415"] = { $ref: `#/components/responses/${MEDIA_TYPE_PROBLEM_NAME}` };
    }
    operation.responses = responses;
    this.#add(route.template, method, operation);
  }

  /**
   * The body in every media type the route reads (JSON, `+json`, forms: the same schema), not
   * required when the schema accepts no body at all (`undefined`).
   */
  #requestBody(body: StandardSchemaV1, hint: string): Record<string, unknown> {
    const schema = this.#components.embed(body, "input", `${hint} body`);
    const content = Object.fromEntries(ACCEPTED_BODY_TYPES.map((type) => [type, { schema }]));
    return { required: !acceptsNow(body, undefined), content };
  }

  /**
   * 200 with the schema, and 204 when it accepts `undefined` (a handler returning nothing is
   * answered 204, no body); 204 alone when it takes no JSON value either (`z.void()`).
   */
  #responses(response: StandardSchemaV1, hint: string): Record<string, unknown> {
    const noContent = { description: "No Content: the handler returned nothing." };
    if (!acceptsNow(response, undefined)) {
      return { "200": jsonResponse(this.#components.embed(response, "input", `${hint} response`)) };
    }
    const json = this.#components.read(response, "input", `${hint} response`);
    if (isUndocumented(json) && acceptsOnlyUndefined(response)) return { "204": noContent };
    return {
      "200": jsonResponse(this.#components.embed(response, "input", `${hint} response`)),
      "204": noContent,
    };
  }

  anyMethod(entry: HttpRouteEntry): void {
    const path = this.#paths[routeTemplate(entry.path).template] ?? {};
    for (const method of ANY_METHOD_AS) {
      if (path[method] !== undefined) continue;
      this.http(entry, method, entry.name && `${entry.name}_${method}`);
    }
  }

  /** An SSE route, or a real-time endpoint's SSE side: a GET answering `text/event-stream`. */
  eventStream(entry: SseRouteEntry | RealtimeEntry): void {
    const route = routeTemplate(entry.path);
    const parameters = routeParameters(route, {}, this.#components, `get ${entry.path}`);
    this.#add(
      route.template,
      "get",
      sseOperation(entry, parameters, this.#components, this.#topics),
    );
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
    const responses: Record<string, unknown> = {};
    if (this.#validates) {
      schemas[PROBLEM_SCHEMA_NAME] = validationProblemSchema();
      responses[PROBLEM_SCHEMA_NAME] = problemResponse(
        "The request failed its schemas: each issue names where and which rule.",
        PROBLEM_SCHEMA_NAME,
      );
    }
    if (this.#readsBodies) {
      schemas[MEDIA_TYPE_PROBLEM_NAME] = mediaTypeProblemSchema();
      responses[MEDIA_TYPE_PROBLEM_NAME] = problemResponse(
        "The body is in a media type the route does not read: `accepted` lists those it does.",
        MEDIA_TYPE_PROBLEM_NAME,
      );
    }
    if (Object.keys(responses).length > 0) components.responses = responses;
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

function problemResponse(description: string, schemaName: string): Record<string, unknown> {
  return {
    description,
    content: {
      "application/problem+json": { schema: { $ref: `#/components/schemas/${schemaName}` } },
    },
  };
}

function jsonResponse(schema: JsonSchema): Record<string, unknown> {
  return { description: "OK", content: { "application/json": { schema } } };
}
