import { once } from "node:events";
import type { RawWebSocket as WebSocket } from "./raw-websocket.js";

/**
 * How a load client speaks to a WebSocket server: plain messages (most servers), socket.io's
 * packets around them, sluice topics' envelopes around them, or the sluice real-time
 * protocol's message frames. The client code is the same for all.
 */
export interface Dialect {
  /** The URL of `route` (/ws/echo or /ws/broadcast) on the server at `port`. */
  url(port: number, route: string): string;
  /** The subprotocol the client offers (and the server must select), if any. */
  protocol?: string;
  /** What must happen before application messages flow; called as soon as the WebSocket is created. */
  join(ws: WebSocket): Promise<void>;
  /** The text sent for an application message. */
  wrap(text: string): string;
  /** Where the application message starts in `data`, or -1 for a protocol packet (answered here). */
  payloadStart(data: Buffer, ws: WebSocket): number;
}

export const plainWebSocket: Dialect = {
  url: (port, route) => `ws://127.0.0.1:${port}${route}`,
  join: async () => {},
  wrap: (text) => text,
  payloadStart: () => 0,
};

const DATA_KEY = Buffer.from('"data":');

/**
 * sluice topics: a subscribed socket gets each message as the envelope frame
 * `{"topic":"…","id":"…","event":"message","data":<the published JSON>}`, whose data is the
 * application message (the broadcast's `{"seq":…,"t":…}` object). The socket is subscribed
 * by the server as it opens (no join), and only broadcast messages come this way.
 */
export const topicEnvelope: Dialect = {
  url: plainWebSocket.url,
  join: async () => {},
  wrap: (text) => text,
  payloadStart: (data) => envelopeDataStart(data),
};

/**
 * Where the data starts in a topic envelope: right after its `"data":` key (the last key, after
 * the topic, the id and the event: one search of a few dozen bytes). Without the key, 0: the client then fails on the
 * message and shows it, rather than skipping it as a protocol packet.
 */
export function envelopeDataStart(envelope: Buffer): number {
  const key = envelope.indexOf(DATA_KEY);
  return key === -1 ? 0 : key + DATA_KEY.length;
}

const ENGINE_PING = 0x32; // "2"
const JOIN_TIMEOUT_MS = 10_000;

/**
 * socket.io (engine.io v4 over the WebSocket transport, socket.io v5 packets): the client
 * joins namespace /echo or /broadcast (named after the route's last segment) and exchanges
 * EVENT packets `42/<ns>,["<event>",<payload>]`; engine.io pings ("2") get a pong ("3").
 */
export function socketIo(route: string): Dialect {
  const namespace = `/${route.split("/").pop()}`;
  const event = namespace === "/echo" ? "echo" : "tick";
  const prefix = `42${namespace},["${event}",`;
  const prefixBytes = Buffer.from(prefix);
  return {
    url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    join: (ws) => joinNamespace(ws, namespace),
    wrap: (text) => `${prefix}${text}]`,
    payloadStart(data, ws) {
      if (data[0] === ENGINE_PING && data.length === 1) {
        ws.send("3");
        return -1;
      }
      return data.subarray(0, prefixBytes.length).equals(prefixBytes) ? prefixBytes.length : -1;
    },
  };
}

/** Waits for engine.io's open packet, asks to join `namespace`, waits for its CONNECT answer. */
async function joinNamespace(ws: WebSocket, namespace: string): Promise<void> {
  const signal = AbortSignal.timeout(JOIN_TIMEOUT_MS);
  const [open] = (await once(ws, "message", { signal })) as [Buffer];
  if (String(open)[0] !== "0") throw new Error(`socket.io: expected an open packet, got ${open}`);
  ws.send(`40${namespace},`);
  const [connected] = (await once(ws, "message", { signal })) as [Buffer];
  if (!String(connected).startsWith(`40${namespace},`)) {
    throw new Error(`socket.io: joining ${namespace} failed: ${connected}`);
  }
}

/** The real-time protocol's subprotocol (docs/protocol.md; src/protocol/frames.ts's PROTOCOL). */
export const REALTIME_PROTOCOL = "sluice.v1";
const MESSAGE_FRAME = Buffer.from('{"type":"message",');
/** The `ref` of the one request a load client sends. */
const SUBSCRIBE_REF = 1;

/**
 * sluice realtime (`app.realtime()`, docs/protocol.md): the client offers the subprotocol
 * `sluice.v1`, subscribes to `topic` once the socket is open and joins when the server's ok
 * reply came (the subscription is live from then on). Each broadcast message is then a
 * message frame `{"type":"message","topic","id","event","data":<the published JSON>}` whose
 * data is the application message; the welcome is skipped.
 */
export function realtime(topic: string): Dialect {
  return {
    url: plainWebSocket.url,
    protocol: REALTIME_PROTOCOL,
    join: (ws) => subscribeAfterOpen(ws, topic),
    wrap: (text) => text,
    payloadStart: realtimeDataStart,
  };
}

/**
 * Where the data of a real-time message frame starts; -1 for a welcome or an ok reply (none
 * is expected once joined, but neither carries a message); 0 for any other frame (an error
 * reply, a reset), which the client then fails on and shows. A frame whose keys come in another order than the protocol's example is parsed
 * (slower, for the load client only), so the count is right whatever the server's key order.
 */
export function realtimeDataStart(data: Buffer): number {
  if (startsWith(data, MESSAGE_FRAME)) return envelopeDataStart(data);
  const frame = parsedFrame(data);
  if (frame?.type === "message") return envelopeDataStart(data);
  const ignored = frame?.type === "welcome" || (frame?.type === "reply" && frame.ok === true);
  return ignored ? -1 : 0;
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return (
    data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0
  );
}

/** Sends the subscribe once the socket is open; resolves on its ok reply, rejects on anything else. */
function subscribeAfterOpen(ws: WebSocket, topic: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no reply to subscribe ${topic}`)),
      JOIN_TIMEOUT_MS,
    );
    const onOpen = () => ws.send(JSON.stringify({ type: "subscribe", ref: SUBSCRIBE_REF, topic }));
    // Listening from the start: the welcome may come right behind the 101, in its chunk.
    const onMessage = (data: Buffer) => {
      const frame = parsedFrame(data);
      if (frame?.type === "welcome") return;
      if (frame?.type === "reply" && frame.ref === SUBSCRIBE_REF && frame.ok === true) done();
      else done(new Error(`sluice.v1: subscribing to ${topic} failed: ${data}`));
    };
    const onClose = (code: number) => done(new Error(`closed (${code}) while subscribing`));
    const done = (error?: Error) => {
      clearTimeout(timer);
      ws.off("open", onOpen).off("message", onMessage).off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    ws.on("open", onOpen).on("message", onMessage).on("close", onClose);
  });
}

interface Frame {
  type?: unknown;
  ref?: unknown;
  ok?: unknown;
}

/** A server frame as JSON, or undefined when it is not a JSON object. */
function parsedFrame(data: Buffer): Frame | undefined {
  try {
    const frame: unknown = JSON.parse(String(data));
    return typeof frame === "object" && frame !== null ? (frame as Frame) : undefined;
  } catch {
    return undefined;
  }
}
