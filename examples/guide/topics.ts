// Chat rooms on topics: one `app.publish` reaches SSE and WebSocket subscribers alike, and a
// client that reconnects with its last event id first gets what it missed.
import { pathToFileURL } from "node:url";
import { App, HttpError, HttpResponse } from "sluice";

const ROOM = /^[a-z0-9-]{1,40}$/;

/** The topic of a room, or a 404 for a name that is not one. */
function roomTopic(room: string | undefined): string {
  if (room === undefined || !ROOM.test(room)) throw new HttpError(404, "No such room");
  return `room:${room}`;
}

export function createRoomsApp(app = new App(), { keepAlive = 15_000, retry = 3000 } = {}): App {
  // #region sse
  app.sse("/rooms/:room/events", { keepAlive, retry }, (req) =>
    // Replays every retained message after the client's Last-Event-ID, then goes live.
    app.subscribe(roomTopic(req.params.room), {
      lastEventId: req.lastEventId,
      signal: req.signal,
    }),
  );
  // #endregion

  // #region publish
  app.post("/rooms/:room/messages", async (req) => {
    const topic = roomTopic(req.params.room);
    const { user, text } = await req.json<{ user?: unknown; text?: unknown }>();
    if (typeof text !== "string" || text === "") throw new HttpError(422, "text is required");
    const id = await app.publish(
      topic,
      { user: String(user ?? "anonymous"), text },
      { event: "message" },
    );
    return HttpResponse.json({ id }, { statusCode: 201 });
  });
  app.get("/rooms/:room/history", (req) => app.history(roomTopic(req.params.room), { limit: 50 }));
  // #endregion

  // #region websocket
  app.websocket("/rooms/:room", async (socket) => {
    const topic = roomTopic(socket.request.params.room);
    // Each message arrives as a text frame {"topic","id","event","data"}.
    await socket.subscribe(topic, {
      lastEventId: socket.request.query.get("lastEventId") ?? undefined,
    });
    for await (const message of socket) {
      if (typeof message !== "string") continue;
      await app.publish(topic, { user: "websocket", text: message }, { event: "message" });
    }
  });
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createRoomsApp().listen({ handleSignals: true });
}
