import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import { asyncApiDocument } from "../src/api-docs/asyncapi.js";
import { ApiCatalog } from "../src/api-docs/catalog.js";
import { type AsyncApiDocument, defineContract } from "../src/index.js";
import { asyncApiProblems, type Json } from "./support/api-validators.js";
import { quietApp } from "./support/apps.js";

const info = { title: "Test API", version: "1.0.0" };

async function assertValid(document: AsyncApiDocument): Promise<void> {
  const { errors, warnings } = await asyncApiProblems(document);
  assert.deepEqual(errors, [], "the AsyncAPI parser found errors");
  assert.deepEqual(warnings, [], "the AsyncAPI parser found warnings");
}

/** Follows a `$ref` inside the document (`#/channels/x/messages/y`, `#/components/...`). */
function follow(document: AsyncApiDocument, value: Json): Json {
  if (typeof value?.$ref !== "string") return value;
  let target: Json = document;
  for (const key of value.$ref.slice(2).split("/")) target = target[key];
  return target;
}

/** Each operation as `action channel-id message-keys (reply: keys)`. */
function operationsOf(document: AsyncApiDocument): Record<string, string> {
  const lastKey = (ref: { $ref: string }) => ref.$ref.split("/").at(-1);
  return Object.fromEntries(
    Object.entries(document.operations).map(([id, op]: [string, Json]) => [
      id,
      [
        op.action,
        lastKey(op.channel),
        op.messages.map(lastKey).join(","),
        ...(op.reply ? [`reply: ${op.reply.messages.map(lastKey).join(",")}`] : []),
      ].join(" "),
    ]),
  );
}

describe("app.asyncapi()", () => {
  test("an app with no routes gives a valid document with no channels", async () => {
    const document = quietApp().asyncapi(info);
    assert.deepEqual(document, {
      asyncapi: "3.0.0",
      info,
      defaultContentType: "application/json",
      channels: {},
      operations: {},
    });
    await assertValid(document);
  });

  test("the app's plain WebSocket and SSE routes are channels with untyped messages", async () => {
    const app = quietApp();
    app.websocket("/rooms/:room", { protocols: ["chat.v1"] }, async () => {});
    app.sse("/feed", async function* () {});
    app.get("/not-here", () => "HTTP routes are OpenAPI's");
    const document = app.asyncapi(info);
    await assertValid(document);
    assert.deepEqual(Object.keys(document.channels), ["websocket-rooms-room", "sse-feed"]);
    const socket = document.channels["websocket-rooms-room"] as Json;
    assert.equal(socket.address, "/rooms/{room}");
    assert.deepEqual(Object.keys(socket.parameters), ["room"]);
    assert.match(socket.description, /Subprotocols: chat\.v1/);
    assert.equal(socket.messages["client-message"].payload, undefined);
    assert.match(socket.messages["client-message"].description, /no message schema/);
    assert.deepEqual(operationsOf(document), {
      "websocket-rooms-room-receive": "receive websocket-rooms-room client-message",
      "websocket-rooms-room-send": "send websocket-rooms-room server-message",
      "sse-feed-send": "send sse-feed event",
    });
  });

  test("every surface's schemas become message payloads: WebSocket, SSE, topics (zod, valibot, arktype)", async () => {
    const Chat = z.object({ text: z.string().max(500) });
    const catalog = new ApiCatalog();
    catalog.add({
      kind: "websocket",
      path: "/chat",
      message: Chat,
      send: toStandardJsonSchema(v.object({ from: v.string(), text: v.string() })),
      protocols: [],
    });
    catalog.add({
      kind: "sse",
      path: "/ticks/*",
      events: { tick: type({ n: "number" }), "price.changed": z.number() },
    });
    catalog.add({ kind: "topic", pattern: "chat:*:messages", schema: Chat });
    catalog.add({ kind: "topic", pattern: "dashboard", schema: v.object({ v: v.number() }) });
    const document = asyncApiDocument(catalog, info);
    await assertValid(document);

    const chat = document.channels["websocket-chat"] as Json;
    // What clients send is the schema's input: zod lets unknown keys in (it strips them).
    assert.deepEqual(chat.messages["client-message"].payload, {
      type: "object",
      properties: { text: { type: "string", maxLength: 500 } },
      required: ["text"],
    });
    assert.deepEqual(chat.messages["server-message"].payload.required, ["from", "text"]);
    assert.deepEqual(chat.bindings, { ws: { bindingVersion: "0.1.0" } });

    const ticks = document.channels["sse-ticks"] as Json;
    assert.equal(ticks.address, "/ticks/{wildcard}");
    assert.deepEqual(Object.keys(ticks.parameters), ["wildcard"]);
    assert.deepEqual(
      Object.values(ticks.messages).map((m: Json) => [m.name, m.payload.type]),
      [
        ["tick", "object"],
        ["price.changed", "number"],
      ],
    );

    const topic = document.channels["topic-chat-messages"] as Json;
    assert.equal(topic.address, "chat:{segment1}:messages");
    assert.deepEqual(Object.keys(topic.parameters), ["segment1"]);
    // The topic's stored data is the same schema's output: unknown keys were stripped.
    assert.equal(topic.messages.data.payload.properties.text.maxLength, 500);
    assert.equal(topic.messages.data.payload.additionalProperties, false);
    const dashboard = document.channels["topic-dashboard"] as Json;
    assert.equal(dashboard.address, "dashboard");
    assert.match(dashboard.messages.data.payload.description, /valibot schema offers no JSON/);
    assert.deepEqual(operationsOf(document), {
      "websocket-chat-receive": "receive websocket-chat client-message",
      "websocket-chat-send": "send websocket-chat server-message",
      "sse-ticks-send": "send sse-ticks event-tick,event-price-changed",
      "topic-chat-messages-send": "send topic-chat-messages data",
      "topic-dashboard-send": "send topic-dashboard data",
    });
  });

  test("a topic's stored data is documented as the schema's output, a publish as its input", async () => {
    const Stamped = z.object({ at: z.string().default("now") });
    const catalog = new ApiCatalog();
    catalog.add({ kind: "topic", pattern: "events", schema: Stamped });
    catalog.add({
      kind: "realtime",
      path: "/rt",
      contract: defineContract({ topics: { events: Stamped } }),
      methods: [],
    });
    const document = asyncApiDocument(catalog, info);
    await assertValid(document);
    const stored = (document.channels["topic-events"] as Json).messages.data.payload;
    assert.deepEqual(follow(document, stored).required, ["at"]);
    const rt = (document.channels["realtime-rt"] as Json).messages;
    assert.deepEqual(follow(document, rt["message-events"].payload.properties.data).required, [
      "at",
    ]);
    assert.equal(
      follow(document, rt["publish-events"].payload.properties.data).required,
      undefined,
    );
  });

  test("a real-time endpoint: subscribe, per topic a message and a publish, per method a call with its reply", async () => {
    const contract = defineContract({
      topics: {
        "chat:*": z.object({ text: z.string() }),
        "presence:*": v.object({ online: v.boolean() }),
      },
      methods: {
        rename: { params: z.object({ name: z.string().min(1) }), result: z.boolean() },
        ping: {},
      },
    });
    const catalog = new ApiCatalog();
    catalog.add({
      kind: "realtime",
      path: "/rt",
      contract,
      subscribe: ["chat:*", "presence:*", "news"],
      publish: ["chat:*"],
      methods: ["rename", "ping", "stats"],
    });
    // The endpoint's SSE side, as the App records it: not a channel of its own.
    catalog.add({ kind: "sse", path: "/rt" });
    const document = asyncApiDocument(catalog, info, {
      servers: [{ url: "https://rt.example.com/app", name: "prod" }],
    });
    await assertValid(document);
    assert.deepEqual(Object.keys(document.channels), ["realtime-rt"]);
    assert.deepEqual(document.servers, {
      "prod-ws": { host: "rt.example.com", pathname: "/app", protocol: "wss" },
      "prod-http": { host: "rt.example.com", pathname: "/app", protocol: "https" },
    });
    const channel = document.channels["realtime-rt"] as Json;
    assert.deepEqual(channel.servers, [{ $ref: "#/servers/prod-ws" }]);
    assert.deepEqual(operationsOf(document), {
      "realtime-rt-subscribe": "receive realtime-rt subscribe reply: subscribe-reply,error-reply",
      "realtime-rt-deliver-chat": "send realtime-rt message-chat",
      "realtime-rt-publish-chat":
        "receive realtime-rt publish-chat reply: publish-chat-reply,error-reply",
      "realtime-rt-deliver-presence": "send realtime-rt message-presence",
      "realtime-rt-deliver-news": "send realtime-rt message-news",
      "realtime-rt-call-rename":
        "receive realtime-rt call-rename reply: call-rename-reply,error-reply",
      "realtime-rt-call-ping": "receive realtime-rt call-ping reply: call-ping-reply,error-reply",
      "realtime-rt-call-stats":
        "receive realtime-rt call-stats reply: call-stats-reply,error-reply",
    });
    const messages = channel.messages;
    const publish = messages["publish-chat"].payload;
    assert.deepEqual(publish.properties.topic, { type: "string", pattern: "^chat:[^\\s:]+$" });
    assert.deepEqual(publish.properties.data.required, ["text"]);
    assert.deepEqual(publish.required, ["type", "ref", "topic", "data"]);
    assert.match(
      messages["message-presence"].payload.properties.data.description,
      /valibot schema offers no JSON Schema/,
    );
    assert.deepEqual(messages["message-news"].payload.properties.topic, {
      type: "string",
      const: "news",
    });
    assert.deepEqual(messages["message-news"].payload.properties.data, {});
    const call = messages["call-rename"].payload;
    assert.deepEqual(call.properties.method, { const: "rename" });
    assert.deepEqual(call.properties.params.properties.name, { type: "string", minLength: 1 });
    assert.deepEqual(messages["call-rename-reply"].payload.properties.result, { type: "boolean" });
    assert.deepEqual(messages["call-stats"].payload.properties.params, {});
    assert.deepEqual(messages["error-reply"].payload.properties.error.properties.code.enum, [
      "forbidden",
      "not_found",
      "invalid",
      "timeout",
      "unavailable",
      "internal",
    ]);
  });

  test("servers: a ws and an http server each, WebSocket channels on the first, SSE ones on the second", async () => {
    const app = quietApp();
    app.websocket("/ws", async () => {});
    app.sse("/events", async function* () {});
    const document = app.asyncapi(info, {
      servers: [{ url: "http://localhost:3000", description: "local" }],
    });
    await assertValid(document);
    assert.deepEqual(document.servers, {
      "server1-ws": { host: "localhost:3000", description: "local", protocol: "ws" },
      "server1-http": { host: "localhost:3000", description: "local", protocol: "http" },
    });
    assert.deepEqual((document.channels["websocket-ws"] as Json).servers, [
      { $ref: "#/servers/server1-ws" },
    ]);
    assert.deepEqual((document.channels["sse-events"] as Json).servers, [
      { $ref: "#/servers/server1-http" },
    ]);
  });

  test("a recursive schema and a converter that throws still give a valid document", async () => {
    const Node: z.ZodType<{ name: string; children: unknown[] }> = z.object({
      name: z.string(),
      get children() {
        return z.array(Node);
      },
    });
    const catalog = new ApiCatalog();
    catalog.add({ kind: "websocket", path: "/tree", message: Node, send: Node, protocols: [] });
    catalog.add({ kind: "topic", pattern: "when", schema: z.object({ at: z.date() }) });
    const document = asyncApiDocument(catalog, info, {
      jsonSchema: (schema) => {
        if (schema["~standard"].vendor === "zod" && schema !== Node) throw new Error("nope");
        return undefined;
      },
    });
    await assertValid(document);
    const tree = (document.channels["websocket-tree"] as Json).messages;
    assert.deepEqual(tree["client-message"].payload, { $ref: "#/components/schemas/TreeMessage" });
    // Both directions document the schema's input (a send is checked, never transformed): one component.
    assert.deepEqual(tree["server-message"].payload, { $ref: "#/components/schemas/TreeMessage" });
    const component = (document.components as Json).schemas.TreeMessage;
    assert.deepEqual(component.properties.children.items, {
      $ref: "#/components/schemas/TreeMessage",
    });
    assert.equal(component.$schema, undefined);
    assert.deepEqual((document.channels["topic-when"] as Json).messages.data.payload, {
      description: "Not documented: converting the zod schema failed: nope.",
    });
  });
});
