// WebSockets: a JSON echo and a chat room where every message is serialised once, however
// many members read it.
import { pathToFileURL } from "node:url";
import { App, type SluiceWebSocket, WebSocketMessage } from "sluice";

/** A JSON echo: a welcome, `{"type":"ping"}` answered, invalid JSON answered, the rest echoed. */
export async function jsonEcho(socket: SluiceWebSocket): Promise<void> {
  await socket.sendJson({ type: "welcome", id: socket.id });
  for await (const message of socket) {
    let data: { type?: unknown };
    try {
      data = JSON.parse(String(message));
    } catch {
      await socket.sendJson({ type: "error", message: "Invalid JSON" });
      continue;
    }
    if (data?.type === "ping") await socket.sendJson({ type: "pong" });
    else await socket.send(message);
  }
}

export function createChatApp(app = new App()): App {
  app.websocket("/ws", jsonEcho);

  const members = new Set<SluiceWebSocket>();
  const broadcast = (value: unknown) => {
    const message = WebSocketMessage.json(value); // one JSON.stringify for the whole room
    for (const member of members) member.send(message).catch(() => {}); // a member may be leaving
  };
  app.websocket("/chat", { maxPayload: 16 * 1024 }, async (socket) => {
    const name = socket.request.query.get("name") || `guest-${socket.id.slice(-4)}`;
    members.add(socket);
    broadcast({ type: "joined", name, members: members.size });
    try {
      for await (const message of socket) {
        if (typeof message !== "string") {
          await socket.sendJson({ type: "error", message: "Send text" });
          continue;
        }
        broadcast({ type: "message", name, text: message });
      }
    } finally {
      members.delete(socket);
      broadcast({ type: "left", name, members: members.size });
    }
  });
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createChatApp().listen({ handleSignals: true });
}
