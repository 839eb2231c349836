import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toJsonSchema, toStandardJsonSchema } from "@valibot/to-json-schema";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import { ApiCatalog, type HttpRouteSchemas } from "../src/api-docs/catalog.js";
import { openApiDocument } from "../src/api-docs/openapi.js";
import {
  type ApiDocumentOptions,
  defineContract,
  type JsonSchemaConverter,
  type OpenApiDocument,
} from "../src/index.js";
import { type Json, openApiProblems } from "./support/api-validators.js";
import { quietApp } from "./support/apps.js";

const info = { title: "Test API", version: "1.0.0" };

function catalogOf(...routes: [method: string, path: string, schemas: HttpRouteSchemas][]) {
  const catalog = new ApiCatalog();
  for (const [method, path, schemas] of routes) {
    catalog.add({ kind: "http", method, path, schemas });
  }
  return catalog;
}

async function assertValid(document: OpenApiDocument): Promise<void> {
  const { errors, warnings } = await openApiProblems(document);
  assert.deepEqual(errors, [], "the OpenAPI validator found errors");
  assert.deepEqual(warnings, [], "the OpenAPI validator found warnings");
}

/** The operation at `path`/`method`, as JSON (refs left as they are). */
function operationOf(document: OpenApiDocument, path: string, method: string) {
  const operation = document.paths[path]?.[method] as Record<string, Json> | undefined;
  assert.ok(operation, `no ${method} ${path} in ${Object.keys(document.paths).join(", ")}`);
  return operation;
}

/** A schema embedded in the document, its `$ref` (to components) followed. */
function resolved(document: OpenApiDocument, schema: Json): Json {
  if (typeof schema?.$ref !== "string") return schema;
  const name = schema.$ref.replace("#/components/schemas/", "");
  const schemas: Json = document.components?.schemas;
  return schemas[name];
}

describe("app.openapi()", () => {
  test("an app with no routes gives a valid document with no paths", async () => {
    const document = quietApp().openapi(info);
    assert.deepEqual(document, {
      openapi: "3.1.0",
      info,
      paths: {},
      components: { schemas: {} },
    });
    await assertValid(document);
  });

  test("the app's plain routes are documented: path params, names as operation ids, a generic answer", async () => {
    const app = quietApp();
    app.get("/users/:id", () => "user");
    app.route("POST", "/users", () => "made", "createUser");
    app.group("/admin", (admin) => admin.delete("/posts/:post/comments/:comment", () => null));
    app.sse("/feed", async function* () {});
    app.websocket("/socket", async () => {});
    const document = app.openapi({ ...info, description: "All of it" });
    await assertValid(document);
    assert.equal(document.info.description, "All of it");
    assert.deepEqual(Object.keys(document.paths), [
      "/users/{id}",
      "/users",
      "/admin/posts/{post}/comments/{comment}",
      "/feed",
    ]);
    const getUser = operationOf(document, "/users/{id}", "get");
    assert.deepEqual(getUser.parameters, [
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
    assert.deepEqual(Object.keys(getUser.responses), ["default"]);
    assert.equal(getUser.operationId, undefined);
    assert.equal(operationOf(document, "/users", "post").operationId, "createUser");
    const comments = operationOf(document, "/admin/posts/{post}/comments/{comment}", "delete");
    assert.deepEqual(
      comments.parameters.map((p: { name: string }) => p.name),
      ["post", "comment"],
    );
    assert.equal(document.components, undefined, "nothing validates: no problem schema");
  });

  test("an SSE route is a GET answering text/event-stream, its events listed by name", async () => {
    const catalog = new ApiCatalog();
    catalog.add({
      kind: "sse",
      path: "/rooms/:room/events",
      events: { tick: z.object({ n: z.number() }), message: v.string() },
    });
    const document = openApiDocument(catalog, info);
    await assertValid(document);
    const operation = operationOf(document, "/rooms/{room}/events", "get");
    assert.equal(operation.parameters[0].name, "room");
    const ok = operation.responses["200"];
    assert.match(ok.description, /"tick", "message"/);
    const stream = ok.content["text/event-stream"];
    assert.deepEqual(stream["x-sluice-events"].tick, {
      type: "object",
      properties: { n: { type: "number" } },
      required: ["n"],
    });
    assert.match(stream["x-sluice-events"].message.description, /Not documented: the valibot/);
  });

  test("a real-time endpoint's SSE side is one GET taking topic parameters, its topics' data listed", async () => {
    const catalog = new ApiCatalog();
    catalog.add({
      kind: "realtime",
      path: "/live",
      contract: defineContract({ topics: { "chat:*": z.object({ text: z.string() }) } }),
      subscribe: ["chat:*", "news"],
      methods: [],
    });
    catalog.add({ kind: "sse", path: "/live" });
    const document = openApiDocument(catalog, info);
    await assertValid(document);
    assert.deepEqual(Object.keys(document.paths), ["/live"]);
    const operation = operationOf(document, "/live", "get");
    const [topic] = operation.parameters;
    assert.equal(topic.name, "topic");
    assert.equal(topic.required, true);
    assert.match(topic.description, /"chat:\*", "news"/);
    const stream = operation.responses["200"].content["text/event-stream"];
    assert.deepEqual(stream["x-sluice-topics"]["chat:*"].required, ["text"]);
    assert.deepEqual(stream["x-sluice-topics"].news, {});
  });

  test("a route's schemas become parameters, a JSON body, a 200 and a 400 problem (zod)", async () => {
    const User = z.object({ name: z.string().min(1), age: z.number().int().optional() });
    const catalog = new ApiCatalog();
    catalog.add({
      kind: "http",
      method: "PUT",
      path: "/orgs/:org/users/:id",
      name: "replaceUser",
      schemas: {
        params: z.object({ org: z.string(), id: z.coerce.number().int() }),
        query: z.object({ dryRun: z.enum(["yes", "no"]).optional(), reason: z.string() }),
        headers: z.object({ "if-match": z.string().describe("The user's ETag") }),
        body: User,
        response: User.extend({ id: z.number() }),
      },
    });
    const document = openApiDocument(catalog, info);
    await assertValid(document);
    const operation = operationOf(document, "/orgs/{org}/users/{id}", "put");
    assert.equal(operation.operationId, "replaceUser");
    const parameters = Object.fromEntries(
      operation.parameters.map((p: { in: string; name: string }) => [`${p.in} ${p.name}`, p]),
    );
    assert.deepEqual(Object.keys(parameters), [
      "path org",
      "path id",
      "query dryRun",
      "query reason",
      "header if-match",
    ]);
    assert.equal(parameters["path id"].schema.type, "integer");
    assert.equal(parameters["query dryRun"].required, false);
    assert.deepEqual(parameters["query dryRun"].schema.enum, ["yes", "no"]);
    assert.equal(parameters["query reason"].required, true);
    assert.equal(parameters["header if-match"].description, "The user's ETag");
    const body = operation.requestBody.content["application/json"].schema;
    assert.deepEqual(body.required, ["name"]);
    assert.equal(body.$schema, undefined, "an embedded schema carries no $schema");
    const ok = operation.responses["200"].content["application/json"].schema;
    assert.deepEqual(ok.required, ["name", "id"]);
    assert.deepEqual(operation.responses["400"], {
      $ref: "#/components/responses/ValidationProblem",
    });
    const problem = (document.components as Json).responses.ValidationProblem;
    assert.ok(problem.content["application/problem+json"]);
    const problemSchema = (document.components as Json).schemas.ValidationProblem;
    assert.deepEqual(Object.keys(problemSchema.properties.issues.items.properties), [
      "in",
      "path",
      "pointer",
      "message",
    ]);
  });

  test("valibot: undocumented alone, documented through toStandardJsonSchema() or the jsonSchema option", async () => {
    const Item = v.object({ sku: v.string(), count: v.optional(v.number(), 1) });
    const plain = openApiDocument(catalogOf(["POST", "/items", { body: Item }]), info);
    await assertValid(plain);
    const plainBody = operationOf(plain, "/items", "post").requestBody.content["application/json"];
    assert.deepEqual(Object.keys(plainBody.schema), ["description"]);
    assert.match(plainBody.schema.description, /valibot schema offers no JSON Schema/);

    const wrapped = openApiDocument(
      catalogOf(["POST", "/items", { body: toStandardJsonSchema(Item) }]),
      info,
    );
    await assertValid(wrapped);
    const expected = {
      type: "object",
      properties: { sku: { type: "string" }, count: { type: "number", default: 1 } },
      required: ["sku"],
    };
    assert.deepEqual(
      operationOf(wrapped, "/items", "post").requestBody.content["application/json"].schema,
      expected,
    );

    const seen: string[] = [];
    const jsonSchema: JsonSchemaConverter = (schema, io, target) => {
      seen.push(`${schema["~standard"].vendor} ${io} ${target}`);
      return schema["~standard"].vendor === "valibot"
        ? toJsonSchema(schema as v.GenericSchema)
        : undefined;
    };
    const converted = openApiDocument(
      catalogOf(["POST", "/items", { body: Item, response: z.string() }]),
      info,
      { jsonSchema },
    );
    await assertValid(converted);
    const operation = operationOf(converted, "/items", "post");
    assert.deepEqual(operation.requestBody.content["application/json"].schema, expected);
    // The option gave nothing for zod: its Standard JSON Schema was used.
    assert.deepEqual(operation.responses["200"].content["application/json"].schema, {
      type: "string",
    });
    assert.deepEqual(seen, ["valibot input draft-2020-12", "zod input draft-2020-12"]);
  });

  test("arktype schemas are documented from their Standard JSON Schema", async () => {
    const document = openApiDocument(
      catalogOf([
        "GET",
        "/search",
        { query: type({ q: "string", "limit?": "string" }), response: type("string[]") },
      ]),
      info,
    );
    await assertValid(document);
    const operation = operationOf(document, "/search", "get");
    assert.deepEqual(
      operation.parameters.map((p: { name: string; required: boolean }) => [p.name, p.required]),
      [
        ["q", true],
        ["limit", false],
      ],
    );
    assert.deepEqual(operation.responses["200"].content["application/json"].schema, {
      type: "array",
      items: { type: "string" },
    });
  });

  test("received parts are documented as the schema's input, sent ones as its input too (never transformed)", async () => {
    const Trimmed = z.string().pipe(z.transform((s) => s.length));
    const Defaulted = z.object({ page: z.number().default(1) });
    const document = openApiDocument(
      catalogOf(["POST", "/x", { body: Defaulted, response: Defaulted, query: Trimmed }]),
      info,
    );
    await assertValid(document);
    const operation = operationOf(document, "/x", "post");
    // Input: `page` may be left out (its default applies), so it is not required.
    const body = resolved(document, operation.requestBody.content["application/json"].schema);
    assert.equal(body.required, undefined);
    // Used twice in one direction: one component, referred to twice.
    assert.deepEqual(operation.requestBody.content["application/json"].schema, {
      $ref: "#/components/schemas/PostXBody",
    });
    assert.deepEqual(operation.responses["200"].content["application/json"].schema, {
      $ref: "#/components/schemas/PostXBody",
    });
    // A transform's input is a string: documented as the whole query (form style).
    assert.deepEqual(operation.parameters, [
      { name: "query", in: "query", schema: { type: "string" }, style: "form", explode: true },
    ]);
  });

  test("a schema that cannot be converted, or a converter that throws, is documented as {} saying why", async () => {
    const jsonSchema: ApiDocumentOptions["jsonSchema"] = (schema) => {
      if (schema["~standard"].vendor === "valibot") throw new Error("no converter for that");
      return undefined;
    };
    const document = openApiDocument(
      catalogOf(
        ["POST", "/dates", { body: z.object({ at: z.date() }) }],
        ["POST", "/other", { body: v.string(), response: { "~standard": unconvertible } }],
      ),
      info,
      { jsonSchema },
    );
    await assertValid(document);
    const dates = operationOf(document, "/dates", "post").requestBody.content["application/json"];
    assert.deepEqual(dates.schema, {
      description:
        "Not documented: converting the zod schema failed: Date cannot be represented in JSON Schema.",
    });
    const other = operationOf(document, "/other", "post");
    assert.match(
      other.requestBody.content["application/json"].schema.description,
      /converting the valibot schema failed: no converter for that/,
    );
    assert.match(
      other.responses["200"].content["application/json"].schema.description,
      /the unnamed schema offers no JSON Schema/,
    );
  });

  test("a recursive schema goes to components, its refs to itself rewritten", async () => {
    const Category: z.ZodType<{ name: string; children: unknown[] }> = z.object({
      name: z.string(),
      get children() {
        return z.array(Category);
      },
    });
    const document = openApiDocument(catalogOf(["GET", "/tree", { response: Category }]), info);
    await assertValid(document);
    const schema = operationOf(document, "/tree", "get").responses["200"].content[
      "application/json"
    ].schema;
    assert.deepEqual(schema, { $ref: "#/components/schemas/GetTreeResponse" });
    assert.deepEqual(resolved(document, schema).properties.children.items, {
      $ref: "#/components/schemas/GetTreeResponse",
    });
  });

  test("a trailing * is a {wildcard} path parameter; app.all() fills the common methods its path has no route of", async () => {
    const app = quietApp();
    app.get("/files/*", () => "file");
    app.route("*", "/files/*", () => "other", "files");
    app.all("/anything", () => "any");
    app.route("PROPFIND", "/dav", () => "no OpenAPI method");
    const document = app.openapi(info);
    await assertValid(document);
    const files = document.paths["/files/{wildcard}"];
    assert.deepEqual(Object.keys(files), ["get", "put", "post", "delete", "patch"]);
    assert.equal(files.get && (files.get as Json).operationId, undefined);
    assert.equal((files.put as Json).operationId, "files_put");
    const wildcard = (files.get as Json).parameters[0];
    assert.equal(wildcard.name, "wildcard");
    assert.match(wildcard.description, /params\["\*"\]/);
    assert.deepEqual(Object.keys(document.paths["/anything"]), [
      "get",
      "put",
      "post",
      "delete",
      "patch",
    ]);
    assert.equal(document.paths["/dav"], undefined);
  });

  test("servers are listed, ws(s):// given as http(s)://", async () => {
    const document = quietApp().openapi(info, {
      servers: [
        { url: "https://api.example.com/v1", description: "production" },
        { url: "ws://localhost:3000" },
      ],
    });
    await assertValid(document);
    assert.deepEqual(document.servers, [
      { url: "https://api.example.com/v1", description: "production" },
      { url: "http://localhost:3000" },
    ]);
  });

  test("operation ids given twice are made unique", async () => {
    const catalog = new ApiCatalog();
    catalog.add({ kind: "http", method: "GET", path: "/a", name: "read", schemas: {} });
    catalog.add({ kind: "http", method: "GET", path: "/b", name: "read", schemas: {} });
    const document = openApiDocument(catalog, info);
    await assertValid(document);
    assert.equal(operationOf(document, "/b", "get").operationId, "read2");
  });

  test("bad info or options throw a TypeError naming what is wrong", () => {
    const app = quietApp();
    const cases: [unknown, unknown, RegExp][] = [
      [undefined, undefined, /app\.openapi\(info\) needs an info object/],
      [{ version: "1" }, undefined, /info\.title must be a non-empty string/],
      [{ title: "T" }, undefined, /info\.version must be a non-empty string/],
      [{ title: "T", version: 1 }, undefined, /info\.version/],
      [{ ...info, description: 3 }, undefined, /info\.description must be a string/],
      [info, "yes", /options must be an object/],
      [info, { jsonSchema: {} }, /options\.jsonSchema must be a function/],
      [info, { servers: "https://x" }, /options\.servers must be an array/],
      [info, { servers: [{ url: "ftp://x" }] }, /options\.servers\[0\]\.url must be an http/],
      [info, { servers: [{ url: "https://x", name: "a b" }] }, /servers\[0\]\.name/],
    ];
    for (const [badInfo, options, message] of cases) {
      assert.throws(
        () => app.openapi(badInfo as never, options as never),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
        `${JSON.stringify(badInfo)} ${JSON.stringify(options)}`,
      );
    }
    assert.throws(() => app.asyncapi({ title: "" } as never), /app\.asyncapi\(info\): info\.title/);
  });

  test("the types refuse what the checks refuse", () => {
    const app = quietApp();
    // @ts-expect-error: info needs a version
    assert.throws(() => app.openapi({ title: "T" }), TypeError);
    // @ts-expect-error: a server is { url, description?, name? }
    assert.throws(() => app.asyncapi(info, { servers: [{ href: "https://x" }] }), TypeError);
    // @ts-expect-error: the converter is told "input" or "output", nothing else
    const converter: JsonSchemaConverter = (_schema, io: "both") => ({ io });
    assert.equal(typeof converter, "function");
    const version: "3.1.0" = app.openapi(info).openapi;
    const asyncVersion: "3.0.0" = app.asyncapi(info).asyncapi;
    assert.deepEqual([version, asyncVersion], ["3.1.0", "3.0.0"]);
  });
});

/** A Standard Schema with no vendor name and no JSON Schema. */
const unconvertible = {
  version: 1 as const,
  vendor: "",
  validate: (value: unknown) => ({ value }),
};
