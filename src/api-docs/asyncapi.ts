import { PROTOCOL } from "../protocol/frames.js";
import type { TopicPatterns } from "../topics/topic-pattern.js";
import type { StandardSchemaV1 } from "../util/standard-schema.js";
import type {
  ApiCatalog,
  RealtimeEntry,
  SseRouteEntry,
  TopicEntry,
  WebSocketRouteEntry,
} from "./catalog.js";
import { type ApiDocumentOptions, type ApiInfo, infoOf } from "./document-options.js";
import type { JsonSchema } from "./json-schema.js";
import * as frames from "./realtime-frames.js";
import {
  declaredTopics,
  type RealtimeTopic,
  realtimeMethods,
  realtimeTopics,
} from "./realtime-topics.js";
import { routeTemplate, WILDCARD_DESCRIPTION, WILDCARD_PARAM } from "./route-template.js";
import { SchemaComponents } from "./schema-components.js";
import { serverParts } from "./server-urls.js";
import { topicAddress, topicNameSchema } from "./topic-address.js";
import { slugName, UniqueNames } from "./unique-names.js";

/** An AsyncAPI 3.0 document: plain JSON, to serve as it is or to extend. */
export interface AsyncApiDocument {
  asyncapi: "3.0.0";
  info: ApiInfo;
  defaultContentType: "application/json";
  servers?: Record<string, Record<string, unknown>>;
  channels: Record<string, Record<string, unknown>>;
  operations: Record<string, Record<string, unknown>>;
  components?: { schemas: Record<string, JsonSchema> };
}

type Message = Record<string, unknown>;
type Ref = { $ref: string };

/** A channel being written: its key in `channels`, its object, the keys its messages took. */
interface Channel {
  readonly id: string;
  readonly body: Record<string, unknown>;
  readonly messageKeys: UniqueNames;
}

/**
 * The AsyncAPI 3.0 document of a catalog, schemas as JSON Schema draft-07 (AsyncAPI's own
 * schema format is a superset of it):
 *
 * - a channel per WebSocket route (address: its path), its `message` schema as the message
 *   clients send and its `send` schema as the one the app sends;
 * - a channel per SSE route, a message per declared event;
 * - a channel per declared topic (address: the name, a `*` as `{segment1}`...);
 * - a channel per real-time endpoint, its sluice.v1 frames typed by its contract: a
 *   subscribe, per topic a publish and a message, per method a call answered by a reply.
 *
 * Operations take the application's point of view: `receive` is what clients send to the
 * app, `send` what the app sends them (a topic's subscribers included).
 */
export function asyncApiDocument(
  catalog: ApiCatalog,
  info: ApiInfo,
  options: ApiDocumentOptions = {},
): AsyncApiDocument {
  const writer = new ChannelsWriter(
    new SchemaComponents("draft-07", options.jsonSchema, new UniqueNames()),
    options,
    declaredTopics(catalog),
  );
  const entries = catalog.entries;
  const realtimePaths = new Set(entries.filter((e) => e.kind === "realtime").map((e) => e.path));
  for (const entry of entries) {
    if (entry.kind === "websocket") writer.webSocket(entry);
    // A real-time endpoint's SSE side carries the same topics as its channel.
    else if (entry.kind === "sse" && !realtimePaths.has(entry.path)) writer.sse(entry);
    else if (entry.kind === "topic") writer.topic(entry);
    else if (entry.kind === "realtime") writer.realtime(entry);
  }
  return writer.document(info);
}

class ChannelsWriter {
  readonly #channels: Record<string, Record<string, unknown>> = {};
  readonly #operations: Record<string, Record<string, unknown>> = {};
  readonly #channelIds = new UniqueNames();
  readonly #operationIds = new UniqueNames();
  readonly #components: SchemaComponents;
  readonly #topics: TopicPatterns<StandardSchemaV1>;
  readonly #servers: Record<string, Record<string, unknown>> = {};
  readonly #socketServers: Ref[] = [];
  readonly #httpServers: Ref[] = [];

  constructor(
    components: SchemaComponents,
    options: ApiDocumentOptions,
    topics: TopicPatterns<StandardSchemaV1>,
  ) {
    this.#components = components;
    this.#topics = topics;
    (options.servers ?? []).forEach((server, index) => {
      const name = server.name ?? `server${index + 1}`;
      const parts = serverParts(server.url);
      const common = {
        host: parts.host,
        ...(parts.pathname === undefined ? {} : { pathname: parts.pathname }),
        ...(server.description === undefined ? {} : { description: server.description }),
      };
      this.#servers[`${name}-ws`] = { ...common, protocol: parts.socketProtocol };
      this.#servers[`${name}-http`] = { ...common, protocol: parts.httpProtocol };
      this.#socketServers.push({ $ref: `#/servers/${name}-ws` });
      this.#httpServers.push({ $ref: `#/servers/${name}-http` });
    });
  }

  webSocket(entry: WebSocketRouteEntry): void {
    const channel = this.#pathChannel("websocket", entry.path, this.#socketServers);
    const protocols =
      entry.protocols.length > 0 ? ` Subprotocols: ${entry.protocols.join(", ")}.` : "";
    channel.body.description = `A WebSocket route.${protocols}`;
    channel.body.bindings = { ws: { bindingVersion: "0.1.0" } };
    const received = this.#message(channel, "client-message", {
      name: "client message",
      ...this.#payload(
        entry.message,
        "input",
        `${entry.path} message`,
        "Any message (the route declares no message schema).",
      ),
    });
    const sent = this.#message(channel, "server-message", {
      name: "server message",
      ...this.#payload(
        entry.send,
        "input",
        `${entry.path} send`,
        "Any message (the route declares no send schema).",
      ),
    });
    this.#operation(channel, "receive", "receive", [received]);
    this.#operation(channel, "send", "send", [sent]);
  }

  sse(entry: SseRouteEntry): void {
    const channel = this.#pathChannel("sse", entry.path, this.#httpServers);
    channel.body.description = "A Server-Sent Events route (GET, text/event-stream).";
    const events = Object.entries(entry.events ?? {});
    const messages =
      events.length === 0
        ? [
            this.#message(channel, "event", {
              name: "event",
              description: "Any event (the route declares no event schemas).",
            }),
          ]
        : events.map(([name, schema]) =>
            this.#message(channel, `event-${slugName(name)}`, {
              name,
              title: `Event "${name}"`,
              payload: this.#components.embed(schema, "input", `${entry.path} ${name} event`),
            }),
          );
    this.#operation(channel, "send", "send", messages);
  }

  topic(entry: TopicEntry): void {
    const { address, parameters } = topicAddress(entry.pattern);
    const channel = this.#channel(`topic-${slugName(entry.pattern)}`, address, parameters, []);
    channel.body.description = `Topic "${entry.pattern}": what its subscribers receive (SSE, WebSocket, real-time endpoints).`;
    const data = this.#message(channel, "data", {
      name: "data",
      payload: this.#components.embed(entry.schema, "output", `${entry.pattern} topic`),
    });
    this.#operation(channel, "send", "send", [data]);
  }

  realtime(entry: RealtimeEntry): void {
    const channel = this.#pathChannel("realtime", entry.path, this.#socketServers);
    channel.body.description = `A real-time endpoint: the ${PROTOCOL} protocol (docs/protocol.md) over a WebSocket offering the subprotocol "${PROTOCOL}"; also Server-Sent Events on GET ${entry.path}?topic=...`;
    channel.body.bindings = { ws: { bindingVersion: "0.1.0" } };
    const errorReply = this.#message(channel, "error-reply", {
      name: "error reply",
      payload: frames.errorReplyFrame(),
    });
    const topics = realtimeTopics(entry, this.#topics);
    const anyTopic =
      topics.length === 0
        ? { type: "string" }
        : { anyOf: topics.map((t) => topicNameSchema(t.pattern)) };
    const subscribe = this.#message(channel, "subscribe", {
      name: "subscribe",
      payload: frames.subscribeFrame(anyTopic),
    });
    const subscribed = this.#message(channel, "subscribe-reply", {
      name: "subscribe reply",
      payload: frames.okReplyFrame(frames.SUBSCRIBE_RESULT),
    });
    this.#operation(channel, "subscribe", "receive", [subscribe], [subscribed, errorReply]);
    for (const topic of topics) this.#realtimeTopic(channel, topic, errorReply);
    for (const method of realtimeMethods(entry))
      this.#realtimeMethod(channel, entry, method, errorReply);
  }

  #realtimeTopic(channel: Channel, topic: RealtimeTopic, errorReply: Ref): void {
    const name = topicNameSchema(topic.pattern);
    const slug = slugName(topic.pattern);
    const hint = `${topic.pattern} topic`;
    const delivered = this.#message(channel, `message-${slug}`, {
      name: "message",
      title: `A message of "${topic.pattern}"`,
      payload: frames.messageFrame(name, this.#data(topic.schema, "output", hint)),
    });
    this.#operation(channel, `deliver-${slug}`, "send", [delivered]);
    if (!topic.publishable) return;
    const publish = this.#message(channel, `publish-${slug}`, {
      name: "publish",
      title: `Publish to "${topic.pattern}"`,
      payload: frames.publishFrame(name, this.#data(topic.schema, "input", hint)),
    });
    const published = this.#message(channel, `publish-${slug}-reply`, {
      name: "publish reply",
      payload: frames.okReplyFrame(frames.PUBLISH_RESULT),
    });
    this.#operation(channel, `publish-${slug}`, "receive", [publish], [published, errorReply]);
  }

  #realtimeMethod(channel: Channel, entry: RealtimeEntry, method: string, errorReply: Ref): void {
    const schemas = entry.contract?.methods[method];
    const slug = slugName(method);
    const call = this.#message(channel, `call-${slug}`, {
      name: "call",
      title: `Call "${method}"`,
      payload: frames.callFrame(method, this.#data(schemas?.params, "input", `${method} params`)),
    });
    // A result is checked (in development), never transformed: its input is what goes out.
    const reply = this.#message(channel, `call-${slug}-reply`, {
      name: "reply",
      title: `The result of "${method}"`,
      payload: frames.okReplyFrame(this.#data(schemas?.result, "input", `${method} result`)),
    });
    this.#operation(channel, `call-${slug}`, "receive", [call], [reply, errorReply]);
  }

  document(info: ApiInfo): AsyncApiDocument {
    const document: AsyncApiDocument = {
      asyncapi: "3.0.0",
      info: infoOf(info),
      defaultContentType: "application/json",
      channels: this.#channels,
      operations: this.#operations,
    };
    if (Object.keys(this.#servers).length > 0) document.servers = this.#servers;
    const schemas = this.#components.finish();
    if (schemas !== undefined) document.components = { schemas };
    return document;
  }

  #data(schema: StandardSchemaV1 | undefined, io: "input" | "output", hint: string): JsonSchema {
    return schema === undefined ? {} : this.#components.embed(schema, io, hint);
  }

  #payload(
    schema: StandardSchemaV1 | undefined,
    io: "input" | "output",
    hint: string,
    undeclared: string,
  ): Message {
    return schema === undefined
      ? { description: undeclared }
      : { payload: this.#components.embed(schema, io, hint) };
  }

  #pathChannel(kind: string, path: string, servers: Ref[]): Channel {
    const route = routeTemplate(path);
    const parameters: Record<string, { description: string }> = {};
    for (const name of route.params)
      parameters[name] = { description: `The path parameter :${name}.` };
    if (route.wildcard) parameters[WILDCARD_PARAM] = { description: WILDCARD_DESCRIPTION };
    return this.#channel(`${kind}-${slugName(path)}`, route.template, parameters, servers);
  }

  #channel(
    base: string,
    address: string,
    parameters: Record<string, { description: string }>,
    servers: Ref[],
  ): Channel {
    const id = this.#channelIds.take(base);
    const body: Record<string, unknown> = { address, messages: {} };
    if (Object.keys(parameters).length > 0) body.parameters = parameters;
    if (servers.length > 0) body.servers = servers;
    this.#channels[id] = body;
    return { id, body, messageKeys: new UniqueNames() };
  }

  #message(channel: Channel, key: string, message: Message): Ref {
    const unique = channel.messageKeys.take(key);
    const messages = channel.body.messages as Record<string, Message>;
    messages[unique] = { contentType: "application/json", ...message };
    return { $ref: `#/channels/${channel.id}/messages/${unique}` };
  }

  #operation(
    channel: Channel,
    name: string,
    action: "send" | "receive",
    messages: Ref[],
    replies?: Ref[],
  ): void {
    const channelRef = { $ref: `#/channels/${channel.id}` };
    const operation: Record<string, unknown> = { action, channel: channelRef, messages };
    if (replies !== undefined) operation.reply = { channel: channelRef, messages: replies };
    this.#operations[this.#operationIds.take(`${channel.id}-${name}`)] = operation;
  }
}
