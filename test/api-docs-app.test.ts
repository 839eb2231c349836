// Issue 21, the documents as an App writes them: routes, topics and a real-time endpoint
// declared through the real surfaces (app.post with all five schemas, app.topic,
// app.realtime with a contract) in zod, valibot and arktype. Both documents validate with
// zero errors and warnings, and each schema appears where it should: a surface that stops
// recording its schemas fails here. Then what the OpenAPI document says of a route matches
// what the route does (optional bodies, media types, 415, 204, the problem's `in`).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import {
  type AsyncApiDocument,
  defineContract,
  type OpenApiDocument,
  type StandardSchemaV1,
} from "../src/index.js";
import { asyncApiProblems, type Json, openApiProblems } from "./support/api-validators.js";
import { quietApp } from "./support/apps.js";
import { RealtimePeer } from "./support/realtime-peer.js";

const info = { title: "App API", version: "1.0.0" };

/** The same declarations in one library; valibot's go through toStandardJsonSchema(). */
interface Kit {
  params: StandardSchemaV1<{ id: string }, { id: unknown }>;
  query: StandardSchemaV1<{ q: string }>;
  headers: StandardSchemaV1<{ "x-api-key": string }>;
  body: StandardSchemaV1<{ title: string }>;
  response: StandardSchemaV1<{ id: string; title: string }>;
  chat: StandardSchemaV1<{ text: string }>;
  room: StandardSchemaV1<{ body: string }>;
  renameParams: StandardSchemaV1<{ name: string }>;
  renameResult: StandardSchemaV1<boolean>;
  /** What a WebSocket client sends, what the app sends back, an SSE event's data. */
  said: StandardSchemaV1<{ said: string }>;
  echo: StandardSchemaV1<{ echo: string }>;
  tick: StandardSchemaV1<{ n: number }>;
}

const KITS: Record<string, Kit> = {
  zod: {
    params: z.object({ id: z.string() }),
    query: z.object({ q: z.string() }),
    headers: z.object({ "x-api-key": z.string() }),
    body: z.object({ title: z.string() }),
    response: z.object({ id: z.string(), title: z.string() }),
    chat: z.object({ text: z.string() }),
    room: z.object({ body: z.string() }),
    renameParams: z.object({ name: z.string() }),
    renameResult: z.boolean(),
    said: z.object({ said: z.string() }),
    echo: z.object({ echo: z.string() }),
    tick: z.object({ n: z.number() }),
  },
  valibot: {
    params: toStandardJsonSchema(v.object({ id: v.string() })),
    query: toStandardJsonSchema(v.object({ q: v.string() })),
    headers: toStandardJsonSchema(v.object({ "x-api-key": v.string() })),
    body: toStandardJsonSchema(v.object({ title: v.string() })),
    response: toStandardJsonSchema(v.object({ id: v.string(), title: v.string() })),
    chat: toStandardJsonSchema(v.object({ text: v.string() })),
    room: toStandardJsonSchema(v.object({ body: v.string() })),
    renameParams: toStandardJsonSchema(v.object({ name: v.string() })),
    renameResult: toStandardJsonSchema(v.boolean()),
    said: toStandardJsonSchema(v.object({ said: v.string() })),
    echo: toStandardJsonSchema(v.object({ echo: v.string() })),
    tick: toStandardJsonSchema(v.object({ n: v.number() })),
  },
  arktype: {
    params: type({ id: "string" }),
    query: type({ q: "string" }),
    headers: type({ "x-api-key": "string" }),
    body: type({ title: "string" }),
    response: type({ id: "string", title: "string" }),
    chat: type({ text: "string" }),
    room: type({ body: "string" }),
    renameParams: type({ name: "string" }),
    renameResult: type("boolean"),
    said: type({ said: "string" }),
    echo: type({ echo: "string" }),
    tick: type({ n: "number" }),
  },
};

function appOf(kit: Kit) {
  const contract = defineContract({
    topics: { "room:*": kit.room },
    methods: { rename: { params: kit.renameParams, result: kit.renameResult } },
  });
  const app = quietApp().topic("chat:*", { schema: kit.chat });
  app.post(
    "/notes/:id",
    {
      params: kit.params,
      query: kit.query,
      headers: kit.headers,
      body: kit.body,
      response: kit.response,
    },
    (req) => ({ id: String(req.params.id), title: req.body.title }),
  );
  app.websocket("/ws", { message: kit.said, send: kit.echo }, async (socket) => {
    for await (const message of socket) await socket.send({ echo: message.said });
  });
  app.sse("/ticks", { events: { tick: kit.tick } }, function* () {
    yield { event: "tick", data: { n: 1 } };
  });
  app.realtime("/rt", {
    contract,
    subscribe: ["room:*", "chat:*"],
    publish: ["room:*", "chat:*"],
    methods: { rename: () => true },
  });
  return app;
}

async function assertValid(openapi: OpenApiDocument, asyncapi: AsyncApiDocument): Promise<void> {
  assert.deepEqual(await openApiProblems(openapi), { errors: [], warnings: [] });
  assert.deepEqual(await asyncApiProblems(asyncapi), { errors: [], warnings: [] });
}

/** A schema embedded in a document, its `$ref` (to components) followed. */
function resolved(document: Json, schema: Json): Json {
  if (typeof schema?.$ref !== "string") return schema;
  const name = schema.$ref.replace("#/components/schemas/", "");
  return document.components.schemas[name];
}

/** The property names a (resolved) object schema declares. */
function propertiesOf(document: Json, schema: Json): string[] {
  return Object.keys(resolved(document, schema)?.properties ?? {});
}

for (const [library, kit] of Object.entries(KITS)) {
  describe(`the documents of an App declared with ${library}`, () => {
    const app = appOf(kit);
    const openapi = app.openapi(info);
    const asyncapi = app.asyncapi(info);

    test("both validate with zero errors and zero warnings", async () => {
      await assertValid(openapi, asyncapi);
    });

    test("OpenAPI: the route's params, query, headers, body and response schemas are there", () => {
      const operation: Json = openapi.paths["/notes/{id}"]?.post;
      assert.ok(operation, Object.keys(openapi.paths).join());
      const parameters = operation.parameters.map((p: Json) => `${p.in}:${p.name}:${p.required}`);
      assert.deepEqual(parameters.sort(), [
        "header:x-api-key:true",
        "path:id:true",
        "query:q:true",
      ]);
      assert.equal(operation.requestBody.required, true);
      for (const media of [
        "application/json",
        "application/*+json",
        "application/x-www-form-urlencoded",
      ]) {
        const schema = operation.requestBody.content[media]?.schema;
        assert.deepEqual(propertiesOf(openapi, schema), ["title"], media);
      }
      const ok = operation.responses["200"].content["application/json"].schema;
      assert.deepEqual(propertiesOf(openapi, ok).sort(), ["id", "title"]);
      assert.deepEqual(Object.keys(operation.responses).sort(), ["200", "400", "415"]);
    });

    test("OpenAPI: the real-time endpoint's topics carry their schemas, app.topic()'s included", () => {
      const endpoint: Json = openapi.paths["/rt"]?.get;
      const stream = endpoint.responses["200"].content["text/event-stream"];
      const topics = stream["x-sluice-topics"];
      assert.deepEqual(propertiesOf(openapi, topics["room:*"]), ["body"]);
      assert.deepEqual(propertiesOf(openapi, topics["chat:*"]), ["text"]);
    });

    test("the WebSocket route's message and send schemas and the SSE route's events are there", () => {
      const document: Json = asyncapi;
      const ws = Object.values(document.channels["websocket-ws"].messages) as Json[];
      const payloads = ws.map((message) => propertiesOf(document, message.payload)).sort();
      assert.deepEqual(payloads, [["echo"], ["said"]]);
      const sse = Object.values(document.channels["sse-ticks"].messages) as Json[];
      assert.deepEqual(
        sse.map((message) => propertiesOf(document, message.payload)),
        [["n"]],
      );
      const stream: Json = openapi.paths["/ticks"]?.get;
      const events = stream.responses["200"].content["text/event-stream"]["x-sluice-events"];
      assert.deepEqual(propertiesOf(openapi, events.tick), ["n"]);
    });

    test("AsyncAPI: topics and the endpoint's frames carry the topic, contract and method schemas", () => {
      const document: Json = asyncapi;
      const topic = document.channels["topic-chat"].messages.data.payload;
      assert.deepEqual(propertiesOf(document, topic), ["text"]);
      const endpoint = document.channels["realtime-rt"].messages;
      const data = (key: string) => endpoint[key].payload.properties.data;
      assert.deepEqual(propertiesOf(document, data("message-chat")), ["text"]);
      assert.deepEqual(propertiesOf(document, data("publish-chat")), ["text"]);
      assert.deepEqual(propertiesOf(document, data("message-room")), ["body"]);
      assert.deepEqual(propertiesOf(document, data("publish-room")), ["body"]);
      const params = endpoint["call-rename"].payload.properties.params;
      assert.deepEqual(propertiesOf(document, params), ["name"]);
      const result = resolved(document, endpoint["call-rename-reply"].payload.properties.result);
      assert.equal(result.type, "boolean");
    });
  });
}

describe("a real-time endpoint's topics take the app's declarations that cover them", () => {
  test("a pattern, a name it covers, and a declaration made after the endpoint", async () => {
    const app = quietApp().topic("chat:*", { schema: z.object({ text: z.string() }) });
    app.realtime("/rt", { subscribe: ["chat:*", "chat:lobby", "news", "free:*"] });
    app.topic("news", { schema: v.object({ title: v.string() }) });
    const openapi: Json = app.openapi(info);
    const asyncapi: Json = app.asyncapi(info, {
      jsonSchema: (schema, io, target) =>
        schema["~standard"].vendor === "valibot"
          ? toStandardJsonSchema(schema as v.GenericSchema)["~standard"].jsonSchema[io]({ target })
          : undefined,
    });
    await assertValid(openapi, asyncapi);
    const topics =
      openapi.paths["/rt"].get.responses["200"].content["text/event-stream"]["x-sluice-topics"];
    assert.deepEqual(propertiesOf(openapi, topics["chat:*"]), ["text"]);
    assert.deepEqual(propertiesOf(openapi, topics["chat:lobby"]), ["text"]);
    assert.deepEqual(topics["free:*"], {}, "a topic nobody declared takes any data");
    const endpoint = asyncapi.channels["realtime-rt"].messages;
    const data = (key: string) => endpoint[key].payload.properties.data;
    assert.deepEqual(propertiesOf(asyncapi, data("message-chat")), ["text"]);
    assert.deepEqual(propertiesOf(asyncapi, data("message-chat-lobby")), ["text"]);
    assert.deepEqual(propertiesOf(asyncapi, data("message-news")), ["title"]);
    assert.deepEqual(data("message-free"), {});
  });
});

describe("what OpenAPI says of a route is what the route does", () => {
  const app = quietApp();
  app.put("/z-optional", { body: z.object({ a: z.string() }).optional() }, (req) => ({
    got: req.body ?? "nothing",
  }));
  app.put(
    "/v-optional",
    { body: toStandardJsonSchema(v.optional(v.object({ a: v.string() }))) },
    () => "ok",
  );
  app.put("/required", { body: z.object({ a: z.string() }) }, () => "ok");
  app.delete("/void", { response: z.void() }, () => undefined);
  app.get(
    "/maybe",
    {
      query: z.object({ none: z.string().optional() }),
      response: z.object({ a: z.string() }).optional(),
    },
    (req) => (req.query.none === undefined ? { a: "x" } : undefined),
  );
  const document: Json = app.openapi(info);
  const operation = (path: string, method: string) => document.paths[path][method];
  let url = "";
  before(async () => {
    url = (await app.listen({ port: 0, host: "127.0.0.1" })).url;
  });
  after(() => app.close());

  test("the document validates", async () => {
    assert.deepEqual(await openApiProblems(document), { errors: [], warnings: [] });
  });

  test("a body the schema lets be absent is not required, and the route takes none", async () => {
    assert.equal(operation("/z-optional", "put").requestBody.required, false);
    assert.equal(operation("/v-optional", "put").requestBody.required, false);
    assert.equal(operation("/required", "put").requestBody.required, true);
    const none = await fetch(`${url}/z-optional`, { method: "PUT" });
    assert.deepEqual([none.status, await none.json()], [200, { got: "nothing" }]);
    const missing = await fetch(`${url}/required`, { method: "PUT" });
    assert.equal(missing.status, 400);
  });

  test("forms and +json are listed, and the 415 the route answers otherwise is documented", async () => {
    const op = operation("/required", "put");
    assert.deepEqual(Object.keys(op.requestBody.content), [
      "application/json",
      "application/*+json",
      "application/x-www-form-urlencoded",
    ]);
    assert.deepEqual(op.responses["415"], {
      $ref: "#/components/responses/UnsupportedMediaTypeProblem",
    });
    const problem = document.components.schemas.UnsupportedMediaTypeProblem;
    const form = await fetch(`${url}/required`, {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=1",
    });
    assert.equal(form.status, 200);
    const text = await fetch(`${url}/required`, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "a=1",
    });
    assert.equal(text.status, 415);
    const body = (await text.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), Object.keys(problem.properties).sort());
    assert.deepEqual(body.accepted, problem.properties.accepted.examples[0]);
  });

  test("a response schema of nothing is a 204; one that may be nothing, a 200 or a 204", async () => {
    assert.deepEqual(Object.keys(operation("/void", "delete").responses), ["204"]);
    const maybe = operation("/maybe", "get").responses;
    assert.deepEqual(Object.keys(maybe).sort(), ["200", "204", "400"]);
    assert.deepEqual(propertiesOf(document, maybe["200"].content["application/json"].schema), [
      "a",
    ]);
    assert.equal(operation("/required", "put").responses["204"], undefined);
    const deleted = await fetch(`${url}/void`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${url}/maybe?none=1`)).status, 204);
    assert.equal((await fetch(`${url}/maybe`)).status, 200);
  });
});

describe("the documented error shapes cover the errors sent", () => {
  test("a handler's refused publish answers a problem whose `in` the schema allows", async () => {
    const app = quietApp().topic("chat:*", { schema: z.object({ text: z.string() }) });
    app.post("/say/:room", { body: z.object({ text: z.unknown() }) }, async (req) => {
      await app.publish(`chat:${req.params.room}`, req.body as { text: string });
      return "ok";
    });
    const document: Json = app.openapi(info);
    const inSchema =
      document.components.schemas.ValidationProblem.properties.issues.items.properties.in;
    assert.equal(inSchema.type, "string");
    assert.equal(inSchema.enum, undefined, "any target, not only the four request parts");
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const response = await fetch(`${url}/say/lobby`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"text":5}',
      });
      assert.equal(response.status, 400);
      const problem = (await response.json()) as { issues: { in: string }[] };
      assert.equal(problem.issues[0]?.in, 'topic "chat:lobby"');
      assert.ok(inSchema.examples.includes('topic "chat:lobby"'));
    } finally {
      await app.close();
    }
  });

  test("AsyncAPI's error reply lists the issues an `invalid` reply carries", async () => {
    const contract = defineContract({
      topics: {
        "room:*": z.object({ body: z.string() }),
        "list:*": z.array(z.number().refine((n) => n > 0, "m".repeat(400))),
      },
    });
    const app = quietApp();
    app.realtime("/rt", { contract, subscribe: ["room:*"], publish: ["room:*"] });
    const document: Json = app.asyncapi(info);
    const error = document.channels["realtime-rt"].messages["error-reply"].payload.properties.error;
    const issue = error.properties.issues;
    assert.equal(issue.type, "array");
    assert.equal(issue.maxItems, 100);
    assert.deepEqual(issue.items.required, ["path", "pointer", "message"]);
    assert.equal(issue.items.properties.message.maxLength, 300);
    app.realtime("/rt2", { contract, publish: ["list:*"] });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const peer = await RealtimePeer.connect(`${url.replace("http", "ws")}/rt`);
    try {
      const reply = await peer.request({ type: "publish", topic: "room:1", data: { body: 5 } });
      const sent = reply.error as { code: string; issues: Record<string, unknown>[] };
      assert.equal(sent.code, "invalid");
      assert.deepEqual(Object.keys(sent).sort(), Object.keys(error.properties).sort());
      assert.deepEqual(Object.keys(sent.issues[0] ?? {}).sort(), ["message", "path", "pointer"]);
      // The documented bounds hold: 101 refused items give 100 issues, each message cut to 300.
      const lists = await RealtimePeer.connect(`${url.replace("http", "ws")}/rt2`);
      const many = await lists.request({
        type: "publish",
        topic: "list:1",
        data: Array(101).fill(-1),
      });
      await lists.close();
      const refused = many.error as { message: string; issues: { message: string }[] };
      assert.equal(refused.issues.length, 100);
      assert.equal(refused.issues[0]?.message, `${"m".repeat(299)}…`);
      assert.match(refused.message, /\(and 100 more issues\)$/);
    } finally {
      await peer.close();
      await app.close();
    }
  });
});
