import { after } from "node:test";
import {
  App,
  type AppOptions,
  type Broker,
  type ListeningServer,
  type SluiceWebSocket,
} from "../../src/index.js";

/** An App that logs nowhere, for tests that do not look at logs. */
export function quietApp(options: AppOptions = {}): App {
  return new App({ logger: false, ...options });
}

/**
 * A `listen(app)` for a test file: on a free loopback port, resolving the server's URL; every
 * server it started is closed after the file's tests.
 */
export function loopbackListener(): (app: App) => Promise<string> {
  const servers: ListeningServer[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));
  return async (app) => {
    const server = await app.listen({ port: 0, host: "127.0.0.1" });
    servers.push(server);
    return server.url;
  };
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

/**
 * An App on `broker` whose SSE route `/topics/:topic` follows that topic, resuming from the
 * client's Last-Event-ID, as a real app serves topics to EventSource.
 */
export function resumableTopicsApp(broker: Broker): App {
  const app = new App({ logger: false, broker });
  app.sse("/topics/:topic", (req) =>
    app.subscribe(req.params.topic as string, {
      lastEventId: req.lastEventId,
      signal: req.signal,
    }),
  );
  return app;
}
