// sluice/client tests against the scripted sluice.v1 peer: peers and clients made here are
// stopped and closed after the file's tests.
import { after } from "node:test";
import { WebSocket } from "ws";
import { type ConnectOptions, connect, type Realtime } from "../../src/client/index.js";
import { RealtimeScriptServer, type ScriptServerOptions } from "./realtime-script-server.js";

/** Fast reconnects for tests. */
export const FAST = { initialDelay: 20, maxDelay: 100, stableAfter: 200 };

const clients: Realtime[] = [];
const servers: RealtimeScriptServer[] = [];
after(async () => {
  for (const client of clients) client.close();
  for (const server of servers) await server.stop();
});

/** A scripted peer on 127.0.0.1, stopped after the tests. */
export async function server(options: ScriptServerOptions = {}): Promise<RealtimeScriptServer> {
  const started = await RealtimeScriptServer.start(options);
  servers.push(started);
  return started;
}

/** `connect()` with `ws`'s class and fast reconnects (unless `options` say otherwise). */
export function client(url: string, options: ConnectOptions = {}): Realtime {
  const rt = connect(url, { WebSocket, reconnect: FAST, ...options });
  clients.push(rt);
  return rt;
}

/** `connect()` with `ws`'s class and every other option at its default. */
export function defaultClient(url: string): Realtime {
  const rt = connect(url, { WebSocket });
  clients.push(rt);
  return rt;
}
