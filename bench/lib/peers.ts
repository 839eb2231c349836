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

/**
 * What a server's echo route sends back: each message as it came, text or binary ("bytes",
 * the default), or the value of each JSON message, re-encoded ("json": the bench's messages
 * come back byte for byte, other text does not); "schema": the same, and a message that
 * breaks the route's schema is refused (close 1008).
 */
export type Echo = "bytes" | "json" | "schema";

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
  /**
   * Not a framework: the limit of what Node can do (bench/servers/floor.ts). Not a peer to beat;
   * the report shows sluice / floor beside the ratios to the baseline.
   */
  floor?: boolean;
  /** How this server is measured, printed under the report once when it took part. */
  notes?: readonly string[];
  /** Environment variables of its own: a variant of a script (e.g. BENCH_ECHO=zod). */
  env?: Readonly<Record<string, string>>;
  /** What its echo route sends back (default "bytes"). */
  echo?: Echo;
}

/** The baseline comes first: every ratio is to it. */
export const BASELINE = "node:http";
/** bench/servers/floor.ts: not a framework, the limit (with "floor+cork" beside it). */
export const FLOOR = "floor";
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

const JSON_ECHO_NOTES = [
  "(c) sluice json echo: the echo on a sluice server (bench/servers/sluice-typed-echo.ts,",
  "BENCH_ECHO=json) that parses each message, `socket.receiveJson()`, and sends the value back",
  "as JSON, `socket.sendJson()`: the parse and stringify every typed route does, without a",
  "schema. The echo clients' messages are JSON (`echoText()`), so the bytes that come back are",
  "those sent, checked as for every server. The sluice column echoes the message unparsed.",
];

const ZOD_ECHO_NOTES = [
  "(c) sluice zod: the same echo with a zod schema of the echo message",
  "(bench/servers/message-schemas.ts: seq and client whole numbers ≥ 0, text a string of at",
  "most 1 000 characters) declared as the route's `message` and `send`:",
  "`app.websocket(path, { message, send }, handler)`; the handler's `for await` gets each",
  "message parsed and validated, and `socket.send(message)` sends it back as JSON. App option",
  "`validateOutput: false`, as in production: what is sent is typed, not checked. Its cost per",
  "message is read against sluice json echo (same parse and stringify, no schema) and against",
  "sluice (no parse at all). Before the run, the sanity check makes sure a message that breaks",
  "the schema is refused (close 1008).",
];

const ZOD_OUTPUT_NOTES = [
  "(c) sluice zod+output: sluice zod with `validateOutput: true` (the default outside",
  "production): each message sent back is checked against `send` too, a second validation per",
  "round trip.",
];

const TOPICS_ZOD_NOTES = [
  "(a), (b) sluice topics zod: sluice topics (the same script, BENCH_TOPIC_SCHEMA=zod) with each",
  "topic's data declared, `app.topic(name, { schema })`: the WebSocket topic's data by the zod",
  "schema of the broadcast message (seq, t, symbol, price), the SSE topic's by a zod string (its",
  "data is the event's JSON text, so that the `data:` line is the same bytes as elsewhere).",
  "`app.publish()` validates once per message, before it is stored and fanned out; what is",
  "delivered is what sluice topics delivers, so its CPU per delivery should be that of sluice",
  "topics (the target: ≤ 1.05×). The server refuses to start unless a publish that breaks the",
  "schema is refused with a ValidationError.",
];

const FLOOR_NOTES = [
  "floor and floor+cork: not a framework, the limit of what Node can do",
  "(bench/servers/floor.ts). Bare `node:net` sockets; the request head read by hand just far",
  "enough to route it; response heads and the WebSocket handshake (Sec-WebSocket-Accept from",
  "node:crypto, a 101 by hand) written by hand; one prebuilt Buffer per event, the SSE event as",
  "one chunk of a chunked body or the whole WebSocket frame, written with `socket.write()` to",
  "every client: the same bytes on the wire as the others. A broadcast subscriber's frames are",
  "not parsed (a close is answered, anything else ignored); the echo (c) uses `ws`'s Receiver",
  "and Sender classes without its WebSocket class and server. floor+cork is the same server",
  "with each socket corked at its first write of an event-loop turn and all of them uncorked",
  "once the turn ends, from one `process.nextTick` (as sluice batches a turn's writes): a burst",
  "leaves each socket in one writev. sluice / floor divides sluice's median by that of the floor",
  "server with the better main metric in the scenario (named in brackets); it is shown in the",
  "summary's last column and as the last row of each scenario's table.",
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
  {
    name: "sluice topics zod",
    script: "sluice-topics.ts",
    serves: ["sse", "ws"],
    framing: "topics",
    scenarios: ["a", "b"],
    sluiceVariant: true,
    notes: TOPICS_ZOD_NOTES,
    env: { BENCH_TOPIC_SCHEMA: "zod" },
  },
  {
    name: "sluice json echo",
    script: "sluice-typed-echo.ts",
    serves: ["ws"],
    scenarios: ["c"],
    sluiceVariant: true,
    notes: JSON_ECHO_NOTES,
    env: { BENCH_ECHO: "json" },
    echo: "json",
  },
  {
    name: "sluice zod",
    script: "sluice-typed-echo.ts",
    serves: ["ws"],
    scenarios: ["c"],
    sluiceVariant: true,
    notes: ZOD_ECHO_NOTES,
    env: { BENCH_ECHO: "zod" },
    echo: "schema",
  },
  {
    name: "sluice zod+output",
    script: "sluice-typed-echo.ts",
    serves: ["ws"],
    scenarios: ["c"],
    sluiceVariant: true,
    notes: ZOD_OUTPUT_NOTES,
    env: { BENCH_ECHO: "zod-output" },
    echo: "schema",
  },
  { name: "Fastify", script: "fastify.ts", serves: ["json", "ndjson", "sse", "ws"] },
  { name: "Hono", script: "hono.ts", serves: ["json", "ndjson", "sse", "ws"] },
  { name: "better-sse", script: "better-sse.ts", serves: ["sse"] },
  { name: "socket.io", script: "socketio.ts", serves: ["ws"], framing: "socket.io" },
  { name: FLOOR, script: "floor.ts", serves: ["sse", "ws"], floor: true, notes: FLOOR_NOTES },
  {
    name: "floor+cork",
    script: "floor.ts",
    serves: ["sse", "ws"],
    floor: true,
    notes: FLOOR_NOTES,
    env: { BENCH_FLOOR_CORK: "1" },
  },
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
  const server = await startServer(peer.name, peer.script, nodeArgs, { ...env, ...peer.env });
  return { ...peer, server };
}
