import { type ServerProcess, startServer } from "./servers.js";
import type { Dialect } from "./ws-dialect.js";
import { plainWebSocket, socketIo } from "./ws-dialect.js";

/** What a server under test serves (see bench/servers/node-http.ts for the routes). */
export type Capability = "json" | "ndjson" | "sse" | "ws";

/** A server under test: one program in bench/servers/. */
export interface Peer {
  name: string;
  script: string;
  serves: readonly Capability[];
  /** Where its NDJSON stream is (default /ndjson). */
  ndjsonPath?: string;
  /** How the WebSocket clients speak to it, by route (default: plain messages). */
  dialect?: (route: string) => Dialect;
}

/** The baseline comes first: every ratio is to it. */
export const BASELINE = "node:http";

export const PEERS: readonly Peer[] = [
  { name: BASELINE, script: "node-http.ts", serves: ["json", "ndjson", "sse", "ws"] },
  {
    name: "sluice",
    script: "sluice.ts",
    serves: ["json", "ndjson", "sse", "ws"],
    ndjsonPath: "/ndjson/async",
  },
  { name: "Fastify", script: "fastify.ts", serves: ["json", "ndjson", "sse", "ws"] },
  { name: "Hono", script: "hono.ts", serves: ["json", "ndjson", "sse", "ws"] },
  { name: "better-sse", script: "better-sse.ts", serves: ["sse"] },
  { name: "socket.io", script: "socketio.ts", serves: ["ws"], dialect: socketIo },
];

/** A peer whose server process is running. */
export interface RunningPeer extends Peer {
  server: ServerProcess;
}

export function dialectOf(peer: Peer, route: string): Dialect {
  return peer.dialect?.(route) ?? plainWebSocket;
}

/** The running peers that serve `capability`, the baseline first. */
export function serving(peers: readonly RunningPeer[], capability: Capability): RunningPeer[] {
  return peers.filter((peer) => peer.serves.includes(capability));
}

/** Starts `peer`'s server in its own pinned process. */
export async function startPeer(peer: Peer, nodeArgs: string[], env: Record<string, string>) {
  const server = await startServer(peer.name, peer.script, nodeArgs, env);
  return { ...peer, server };
}
