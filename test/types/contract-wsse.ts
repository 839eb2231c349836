/*
 * Compile-time checks of typed WebSocket and SSE routes (issue 21): `npx tsc --noEmit`
 * compiles this file, and test/contract-wsse-types.test.ts compiles it again with
 * `noUncheckedIndexedAccess`. A `@ts-expect-error` whose error went away fails both.
 */
import * as v from "valibot";
import { z } from "zod";
import {
  App,
  type SchemaWebSocket,
  type SluiceWebSocket,
  SseEvent,
  type SseOptions,
  type WebSocketOptions,
} from "../../src/index.js";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<Check extends true>(_check?: Check): void {}

const zodChat = z.object({ text: z.string().transform((text) => text.length), room: z.string() });
const zodReply = z.object({ echo: z.string(), at: z.number().default(0) });
const valibotChat = v.object({
  text: v.pipe(
    v.string(),
    v.transform((text) => text.length),
  ),
  room: v.string(),
});
const valibotReply = v.object({ echo: v.string(), at: v.optional(v.number(), 0) });

export function typedWebSocketRoutes(app = new App({ logger: false })) {
  // zod: the loop yields the output (text is a number after the transform), send takes the
  // input of `send` (`at` may be left out: it has a default).
  app.websocket(
    "/zod/:room",
    { message: zodChat, send: zodReply, onInvalid: "skip" },
    async (socket, req) => {
      expectType<Equal<typeof req.params.room, string>>();
      for await (const message of socket) {
        expectType<Equal<typeof message, { text: number; room: string }>>();
        // @ts-expect-error: the message has no field "body"
        message.body;
        await socket.send({ echo: `${message.text}` });
        // @ts-expect-error: "echo" must be a string
        await socket.send({ echo: 1 });
        // @ts-expect-error: the send schema has no field "extra"
        await socket.send({ echo: "x", extra: true });
        // @ts-expect-error: sendJson is typed the same
        await socket.sendJson("not a reply");
      }
      const next = await socket.receive();
      expectType<Equal<typeof next, { text: number; room: string } | undefined>>();
    },
  );

  // valibot, the same checks; onInvalid's socket is the route's typed socket.
  app.websocket(
    "/valibot",
    {
      message: valibotChat,
      send: valibotReply,
      onInvalid: (error, socket, raw) => {
        expectType<Equal<typeof raw, string | Buffer>>();
        return socket.send({ echo: error.message });
      },
    },
    async (socket) => {
      for await (const message of socket) {
        expectType<Equal<typeof message, { text: number; room: string }>>();
        // @ts-expect-error: the message has no field "txt"
        message.txt;
        // @ts-expect-error: "at" must be a number
        await socket.send({ echo: "x", at: "now" });
      }
    },
  );

  // A message schema without `send`: send takes anything, as on an untyped route.
  app.websocket("/in-only", { message: z.string() }, async (socket) => {
    for await (const word of socket) {
      expectType<Equal<typeof word, string>>();
      await socket.send(new Uint8Array([1]));
    }
  });

  // The socket type users can name.
  const handler = async (socket: SchemaWebSocket<{ id: string }, object, string, number>) => {
    await socket.send(1);
    // @ts-expect-error: this socket sends numbers
    await socket.send("1");
  };
  app.websocket("/named/:id", { message: z.string(), send: z.number() }, handler);

  // @ts-expect-error: onInvalid is "close", "skip" or a function
  app.websocket("/bad", { message: zodChat, onInvalid: "drop" }, async () => {});

  // receiveJson() on a typed socket is receive(): the message schema's output.
  app.websocket("/json", { message: zodChat }, async (socket) => {
    const next = await socket.receiveJson();
    expectType<Equal<typeof next, { text: number; room: string } | undefined>>();
  });

  // A `send` schema alone: send is typed, what the handler reads stays untyped.
  app.websocket("/send-only", { send: valibotReply, maxPayload: 4096 }, async (socket) => {
    for await (const message of socket) {
      expectType<Equal<typeof message, string | Buffer>>();
      await socket.send({ echo: typeof message === "string" ? message : "bytes" });
      // @ts-expect-error: "echo" must be a string
      await socket.send({ echo: 1 });
    }
    const json = await socket.receiveJson<{ n: number }>();
    expectType<Equal<typeof json, { n: number } | undefined>>();
  });
  // @ts-expect-error: onInvalid needs a message schema to apply to
  app.websocket("/send-skip", { send: zodReply, onInvalid: "skip" }, async () => {});

  // Options held in a variable are typed as literals are: a route that declares a message
  // schema cannot take a handler written for strings and bytes (it gets parsed objects).
  const chatOptions = { message: z.object({ text: z.string() }), maxPayload: 4096 };
  async function shout(socket: SluiceWebSocket) {
    for await (const message of socket) await socket.send(String(message).toUpperCase());
  }
  // @ts-expect-error: the route validates its messages; its handler must take a typed socket
  app.websocket("/shout", chatOptions, shout);
  app.websocket("/chat-var", chatOptions, async (socket) => {
    for await (const message of socket) expectType<Equal<typeof message, { text: string }>>();
  });
  const replyOptions = { send: zodReply };
  // @ts-expect-error: the route's send is typed; a handler for any value does not fit
  app.websocket("/reply-var", replyOptions, shout);
  const onInvalidOptions = { onInvalid: "skip" as const };
  // @ts-expect-error: onInvalid without a message schema
  app.websocket("/skip-var", onInvalidOptions, shout);
  const plainOptions: WebSocketOptions = { maxPayload: 4096 };
  app.websocket("/plain-var", plainOptions, shout);
  app.websocket("/plain-literal", { maxPayload: 4096 }, shout);

  // Untyped routes are unchanged: messages are strings or Buffers.
  app.websocket("/raw", async (socket) => {
    for await (const message of socket) expectType<Equal<typeof message, string | Buffer>>();
  });
  return app;
}

const tick = z.object({ n: z.number() });
const note = v.object({ text: v.string() });

export function typedSseRoutes(app = new App({ logger: false })) {
  app.sse("/feed", { events: { tick, message: note }, retry: 1000 }, async function* () {
    yield new SseEvent({ event: "tick", data: { n: 1 } });
    yield { event: "tick", data: { n: 2 }, id: 3 };
    yield { text: "a message event's data alone" };
    yield { data: { text: "with an id" }, id: 4 };
  });

  // @ts-expect-error: "tock" is not one of the route's events
  app.sse("/wrong-name", { events: { tick } }, async function* () {
    yield { event: "tock", data: { n: 1 } };
  });

  // @ts-expect-error: a tick's data is { n: number }
  app.sse("/wrong-data", { events: { tick } }, async function* () {
    yield { event: "tick", data: { n: "1" } };
  });

  // @ts-expect-error: an SseEvent named outside the declared events
  app.sse("/wrong-event", { events: { tick } }, () => [new SseEvent({ event: "other", data: 1 })]);

  // @ts-expect-error: no `message` event is declared, so data alone is refused
  app.sse("/no-message", { events: { tick } }, () => [{ n: 1 }]);

  // A topic subscription is accepted (its events are checked at run time).
  app.sse("/topic", { events: { message: note } }, (req) =>
    app.subscribe("news", { signal: req.signal }),
  );

  // Options held in a variable are typed as literals are.
  const feedOptions = { events: { tick: z.object({ n: z.number() }) }, retry: 1000 };
  // @ts-expect-error: "tock" is not one of the route's events
  app.sse("/feed-var", feedOptions, () => [{ event: "tock", data: "anything" }]);
  app.sse("/feed-var-ok", feedOptions, () => [{ event: "tick", data: { n: 1 } }]);
  const plainFeed: SseOptions = { retry: 1000 };
  app.sse("/plain-var", plainFeed, () => [{ any: "thing" }]);

  // SseEvent infers its name and data; untyped SseEvents still compile everywhere else.
  const event = new SseEvent({ event: "tick", data: { n: 1 } });
  expectType<Equal<typeof event, SseEvent<"tick", { n: number }>>>();
  const plain: SseEvent = event;
  app.sse("/untyped", () => [plain, { any: "thing" }]);
  return app;
}
