import { App, type AppOptions, type SluiceWebSocket } from "../../src/index.js";

/** An App that logs nowhere, for tests that do not look at logs. */
export function quietApp(options: AppOptions = {}): App {
  return new App({ logger: false, ...options });
}

/** Connections an app's server holds now (its clients' keep-alive ones included). */
export function openConnections(app: App): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = app.server;
    if (!server) return reject(new Error("the app is not listening"));
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
}

/** A WebSocket handler that echoes every message as it came: text as text, binary as binary. */
export async function echo(socket: SluiceWebSocket): Promise<void> {
  for await (const message of socket) await socket.send(message);
}
