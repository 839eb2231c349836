// One schema per message: it validates what clients send, types the handlers and the client,
// and documents the API (OpenAPI for the HTTP routes, AsyncAPI for the rest). zod here;
// valibot, arktype or any Standard Schema library works the same way.
import { pathToFileURL } from "node:url";
import { App } from "sluice";
import { z } from "zod";
import { chat, Message } from "./contract.js";

export function createTypedApp(app = new App()) {
  // #region http
  const Note = z.object({
    text: z.string().min(1).max(500),
    tags: z.array(z.string().max(20)).max(10).default([]),
  });
  const notes = new Map<number, z.output<typeof Note>>();

  app.put(
    "/notes/:id",
    {
      params: z.object({ id: z.coerce.number().int().positive() }),
      query: z.object({ pin: z.enum(["yes", "no"]).default("no") }),
      body: Note,
      response: z.object({ id: z.number(), pinned: z.boolean(), tags: z.array(z.string()) }),
    },
    (req) => {
      // req.params.id is a number, req.body.tags a string[] (the default applied).
      notes.set(req.params.id, req.body);
      return { id: req.params.id, pinned: req.query.pin === "yes", tags: req.body.tags };
    },
  );
  // #endregion

  // #region topics
  const typed = app.topic("room:*", { schema: Message });
  app.post("/rooms/:room/messages", { body: Message }, async (req) => ({
    // Checked against Message before it is stored: a bad one rejects with a ValidationError
    // (here: a 400 problem+json), and nothing is stored.
    id: await typed.publish(`room:${req.params.room}`, req.body),
  }));
  // #endregion

  // #region websocket
  app.websocket(
    "/shout",
    {
      message: z.object({ say: z.string().max(200) }),
      send: z.object({ shouted: z.string() }),
      // A message that is not JSON closes with 1007, one that fails the schema with 1008
      // (the default, "close"); "skip" drops it; a function may answer it instead.
      onInvalid: (error, socket) => socket.send({ shouted: `?? ${error.message}` }),
    },
    async (socket) => {
      for await (const { say } of socket) await socket.send({ shouted: say.toUpperCase() });
    },
  );
  // #endregion

  // #region realtime
  app.realtime("/rt", {
    contract: chat,
    subscribe: ["room:*"],
    publish: ["room:*"],
    methods: {
      // params is typed from the contract; the return value must fit its result schema.
      rename: ({ name }) => ({ name: name.trim() }),
    },
  });
  // #endregion

  // #region documents
  const info = { title: "Notes and rooms", version: "1.0.0" };
  app.get("/openapi.json", () => app.openapi(info));
  app.get("/asyncapi.json", () => app.asyncapi(info));
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createTypedApp().listen({ handleSignals: true });
}
