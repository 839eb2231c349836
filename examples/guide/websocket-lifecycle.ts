// A WebSocket route from handshake to close: a token checked by middleware before the
// upgrade, JSON commands, limits, heartbeats, close codes, and cleanup in `finally`.
import { pathToFileURL } from "node:url";
import { App, CloseCode, HttpError, type SluiceWebSocket } from "sluice";

/** A stand-in for your session store: token -> user. */
const TOKENS = new Map([
  ["token-ada", "ada"],
  ["token-bob", "bob"],
]);

type Command = { type: "say"; text: string } | { type: "bye" } | { type: "crash" };

export function createWebSocketApp(app = new App(), { heartbeat = 30_000 } = {}): App {
  const online = new Set<SluiceWebSocket>();
  app.get("/online", () => ({ users: [...online].map((s) => s.request.state.user) }));

  // #region auth
  // Fail closed: every path needs a token but the ones listed as public. (req.path is the
  // canonical, decoded path the router matches: `/%6cive` is `/live` here too.)
  const publicPaths = new Set(["/online"]);
  app.use(async (req, next) => {
    if (publicPaths.has(req.path)) return next();
    // Browsers cannot set headers on a WebSocket handshake: take the token from the query
    // too (or use a cookie, which browsers do send).
    const token = req.query.get("token") ?? req.header("authorization")?.replace(/^Bearer /, "");
    const user = token === undefined ? undefined : TOKENS.get(token);
    // Thrown before the upgrade: the client gets a plain HTTP 401 with a JSON body, and no
    // WebSocket is ever opened.
    if (!user) throw new HttpError(401, "A valid token is required");
    req.state.user = user; // the handler sees it as socket.request.state.user
    return next(); // for an upgrade, returning next()'s result is what lets it happen
  });
  // #endregion

  // #region handler
  app.websocket(
    "/live",
    { maxPayload: 16 * 1024, heartbeat }, // bigger messages close with 1009; dead peers drop
    async (socket) => {
      const user = String(socket.request.state.user);
      online.add(socket);
      try {
        await socket.sendJson({ type: "welcome", user });
        while (true) {
          let command: Command | undefined;
          try {
            command = await socket.receiveJson<Command>(); // undefined once the socket closed
          } catch {
            // receiveJson() throws a SyntaxError on invalid JSON: answer it with a close
            // code the client can act on (1007: invalid payload) instead of letting it
            // escape, which would close with 1011 as a server error.
            socket.close(CloseCode.invalidPayload, "Invalid JSON");
            return;
          }
          if (command === undefined) return; // the peer closed or the connection dropped
          if (command.type === "say")
            await socket.sendJson({ type: "said", user, text: command.text });
          else if (command.type === "bye")
            return; // returning closes with 1000
          else if (command.type === "crash")
            throw new Error("a bug in the handler"); // 1011, logged
          else {
            socket.close(4400, "Unknown command"); // 4000-4999: codes of your own
            return;
          }
        }
      } finally {
        // Runs however the socket ends: closed by either side, dropped by the heartbeat,
        // or closed with 1001 because the app is shutting down.
        online.delete(socket);
      }
    },
  );
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createWebSocketApp().listen({ handleSignals: true });
}
