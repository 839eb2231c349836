// A chat with rooms on app.realtime(): the latest lines on join, who is in the room (named
// from the verified token, never by the client), and typing notices that are neither stored
// nor sent back to the typist. Its client is chat-client.ts. On Redis it works across
// instances as it is. Run it: `CHAT_SECRET=<32 bytes or more> npx tsx examples/guide/chat-rooms.ts`
import { pathToFileURL } from "node:url";
import { App, HttpError } from "sluice";
import { jwtAuth } from "sluice/jwt"; // needs `npm install jose`

/** What the chat's tokens carry: your login service signs them (HS256 here). */
export type ChatClaims = { sub: string; name: string };

/** A room's topic: room:lobby, room:team-2... */
const ROOM = /^room:[a-z0-9-]{1,40}$/;

/** The topic of a room, or a 404 for a name that is not one. */
function roomTopic(room: string): string {
  if (!ROOM.test(`room:${room}`)) throw new HttpError(404, "No such room");
  return `room:${room}`;
}

export function createChatRoomsApp(
  app = new App(),
  { secret = process.env.CHAT_SECRET ?? "" } = {},
) {
  // #region realtime
  // connect({ token }) offers the token in the subprotocol list. At the token's `exp` the
  // connection is closed with 4001, unless the client sent a fresh one before (it does).
  const auth = jwtAuth<ChatClaims>({ secret, algorithms: ["HS256"], subprotocol: "bearer" });
  const chat = app.use(auth);
  chat.realtime("/chat", {
    subscribe: ["room:*"],
    // Lines and typing notices alike must be signed with the sender's own name.
    publish: (topic, data, ctx) =>
      ROOM.test(topic) && (data as { from?: unknown } | null)?.from === ctx.request.state.auth.name,
    // A member's info comes from the verified token; what the client offers is ignored.
    presence: (ctx) => ({ name: ctx.request.state.auth.name }),
  });
  // #endregion

  // #region members
  // Who is in a room, on every instance: one member per connection (two tabs are two), so
  // group them by user.
  chat.get("/rooms/:room/members", async (req) => {
    const members = await chat.presence(roomTopic(req.params.room));
    return [...new Set(members.map((member) => (member.info as { name: string }).name))];
  });
  // #endregion

  // #region websocket
  // The same rooms for plain WebSocket clients: the server signs what they send and relays it.
  chat.websocket("/rooms/:room", { protocols: ["bearer"] }, async (socket) => {
    const topic = roomTopic(socket.request.params.room); // a 404 here closes with 4404
    const { name } = socket.request.state.auth;
    await socket.subscribe(topic, { replay: 50, presence: { name }, joinLeave: true });
    for await (const text of socket) {
      if (typeof text !== "string") continue;
      if (text === "/typing") {
        // Live-only: to whoever is in the room now, on every instance; never stored.
        const liveOnly = { event: "typing", store: false, except: socket };
        await chat.publish(topic, { from: name }, liveOnly);
      } else {
        // Stored (a later join replays it), but not sent back: the sender shows it already.
        await chat.publish(topic, { from: name, text }, { except: socket });
      }
    }
  });
  // #endregion
  return chat;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createChatRoomsApp().listen({ handleSignals: true });
}
