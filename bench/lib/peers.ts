import { BROADCAST_TOPIC } from "../servers/ws-messages.js";
import { type ServerProcess, startServer } from "./servers.js";
import type { Dialect } from "./ws-dialect.js";
import { plainWebSocket, realtime, socketIo, topicEnvelope } from "./ws-dialect.js";

/** What a server under test serves (see bench/servers/node-http.ts for the routes). */
export type Capability = "json" | "ndjson" | "sse" | "ws";

/**
 * How a server's SSE events and WebSocket messages are framed, where not as every other
 * server's: socket.io's packets (its own WebSocket client dialect and sanity check),
 * sluice's topics (SSE ids `<epoch>-<n>`, each WebSocket message in the topic envelope), or
 * sluice's real-time protocol (clients subscribe over `sluice.v1`, messages in its frames).
 */
export type Framing = "socket.io" | "topics" | "realtime";

/** A server under test: one program in bench/servers/. */
export interface Peer {
  name: string;
  script: string;
  serves: readonly Capability[];
  /** Where its NDJSON stream is (default /ndjson). */
  ndjsonPath?: string;
  /** Default: the plain events and messages of bench/servers/sse-events.ts and ws-messages.ts. */
  framing?: Framing;
  /**
   * The only scenarios it takes part in, by id ("a", "b+", "e-sse"...; default: every one of
   * what it serves). The sanity checks follow: no echo check without "c", and the broadcast
   * checks publish at a fixed rate, not as fast as delivered, without "a+" / "b+".
   */
  scenarios?: readonly string[];
  /** sluice itself, used another way: a column of its own, not a peer sluice's targets beat. */
  sluiceVariant?: boolean;
  /** How this server is measured, printed under the report once when it took part. */
  notes?: readonly string[];
}

/** The baseline comes first: every ratio is to it. */
export const BASELINE = "node:http";
/** bench/servers/sluice.ts: what the targets and "sluice ahead of every peer" are about. */
export const SLUICE = "sluice";

const TOPICS_NOTES = [
  "(g) sluice topics: the same load as (a) and (b), on a second sluice server",
  "(bench/servers/sluice-topics.ts) that publishes through `app.publish()`: each message is",
  "stored in the default memory broker's log (1 000 per topic) and fanned out locally to the",
  "topic's subscribers. SSE clients iterate `app.subscribe()`, an async iterator of",
  "`SseEvent`s (the data published as a string, so the `data:` line is the same bytes as",
  "elsewhere; ids are the broker's `<epoch>-<n>`); WebSocket clients are subscribed with",
  "`socket.subscribe()` and get the envelope frame every subscriber shares,",
  '`{"topic","id","event","data":<the same JSON object>}` (the load client reads `seq` and',
  "`t` from the data inside it). Topics have no producer-side backpressure, so this server",
  "takes part only at a fixed rate: not in the saturation runs (a+, b+), nor in echo (c)",
  "(it has no echo route); in (e) each idle connection is such a topic subscriber.",
];

const REALTIME_NOTES = [
  "(g) sluice realtime: the WebSocket fan-out of (b) through `app.realtime()`, the endpoint",
  "of the sluice real-time protocol (docs/protocol.md), on a third sluice server",
  "(bench/servers/sluice-realtime.ts) that publishes as sluice topics does, `app.publish()`",
  "into the default memory broker. Each load client offers the subprotocol `sluice.v1`, sends",
  '`{"type":"subscribe","ref":1,"topic":"bench-ws"}` once open and counts as connected when the',
  "ok reply came; then it reads `seq` and `t` from the `data` of each",
  '`{"type":"message","topic","id","event","data":<the same JSON object>}` frame (welcome and',
  "ok replies skipped). The rate, the bursts and the clients are those of (b) for every server,",
  "so the CPU per delivery of sluice realtime and sluice topics, measured in one run on",
  "servers started for it, compare directly (the target: realtime ≤ 1.1× topics); socket.io",
  "is the same fan-out over socket.io's own protocol. Both sluice servers send a socket's frames",
  "of one event-loop turn in one write, so their CPU per delivery follows their writes per",
  "delivery (how many messages a write carries): read the two together. Like topics, it takes",
  "part at a fixed rate only (b), and in (e) each idle connection is such a subscribed client.",
];

export const PEERS: readonly Peer[] = [
  { name: BASELINE, script: "node-http.ts", serves: ["json", "ndjson", "sse", "ws"] },
  {
    name: SLUICE,
    script: "sluice.ts",
    serves: ["json", "ndjson", "sse", "ws"],
    ndjsonPath: "/ndjson/async",
  },
  {
    name: "sluice topics",
    script: "sluice-topics.ts",
    serves: ["sse", "ws"],
    framing: "topics",
    scenarios: ["a", "b", "e-sse", "e-ws"],
    sluiceVariant: true,
    notes: TOPICS_NOTES,
  },
  {
    name: "sluice realtime",
    script: "sluice-realtime.ts",
    serves: ["ws"],
    framing: "realtime",
    scenarios: ["b", "e-ws"],
    sluiceVariant: true,
    notes: REALTIME_NOTES,
  },
  { name: "Fastify", script: "fastify.ts", serves: ["json", "ndjson", "sse", "ws"] },
  { name: "Hono", script: "hono.ts", serves: ["json", "ndjson", "sse", "ws"] },
  { name: "better-sse", script: "better-sse.ts", serves: ["sse"] },
  { name: "socket.io", script: "socketio.ts", serves: ["ws"], framing: "socket.io" },
];

/** A peer whose server process is running. */
export interface RunningPeer extends Peer {
  server: ServerProcess;
}

/** The peer registered under `name` (a column of the report), if any. */
export function peerNamed(name: string): Peer | undefined {
  return PEERS.find((peer) => peer.name === name);
}

export function dialectOf(peer: Peer, route: string): Dialect {
  if (peer.framing === "socket.io") return socketIo(route);
  if (peer.framing === "topics") return topicEnvelope;
  if (peer.framing === "realtime") return realtime(BROADCAST_TOPIC);
  return plainWebSocket;
}

/** Whether `peer` takes part in scenario `id` (of a capability it serves). */
export function takesPart(peer: Peer, id: string): boolean {
  return peer.scenarios?.includes(id) ?? true;
}

/** The peers that serve `capability` and take part in scenario `id`, the baseline first. */
export function serving<P extends Peer>(
  peers: readonly P[],
  capability: Capability,
  id: string,
): P[] {
  return peers.filter((peer) => peer.serves.includes(capability) && takesPart(peer, id));
}

/** Starts `peer`'s server in its own pinned process. */
export async function startPeer(peer: Peer, nodeArgs: string[], env: Record<string, string>) {
  const server = await startServer(peer.name, peer.script, nodeArgs, env);
  return { ...peer, server };
}
