import { stamp } from "./stamp.js";

/** The messages every WebSocket server under test sends, so all of them send the same bytes. */

/** The topic the sluice realtime server publishes its broadcast to and its clients subscribe to. */
export const BROADCAST_TOPIC = "bench-ws";

/** Bytes a client may have queued on the server before the broadcast producer waits for it. */
export const MAX_BUFFERED_BYTES = 64 * 1024;

/** How often a waiting producer looks at the clients that were behind, in ms. */
const BEHIND_POLL_MS = 1;

export interface BroadcastData {
  seq: number;
  /** Publish time (see stamp.ts). */
  t: number;
  symbol: string;
  price: number;
}

/**
 * Broadcast message `seq`: a small JSON object, as a live feed would send; `seq` comes first,
 * then its publish time `t`. Call it once per message.
 */
export function broadcastData(seq: number, t = stamp()): BroadcastData {
  return { seq, t, symbol: "ACME", price: 100 + (seq % 100) / 4 };
}

/** The text the echo client `client` sends as its message `seq` (about 60 bytes). */
export function echoText(client: number, seq: number): string {
  return `{"seq":${seq},"client":${client},"text":"hello, echo server"}`;
}

/** What a broadcast's producer needs of a socket: the bytes it has queued. */
export interface Buffered {
  readonly bufferedAmount: number;
}

/**
 * The rule both servers' producers follow after a message went to every client: while a
 * client still connected (in `clients`) has over MAX_BUFFERED_BYTES queued, wait. Neither
 * socket has a 'drain' event, so the clients that were behind are looked at again every
 * millisecond (a timer, not a busy loop, so waiting costs no CPU).
 */
export function whileBehind<T extends Buffered>(
  behind: T[],
  clients: ReadonlySet<T>,
): Promise<void> | undefined {
  if (behind.length === 0) return undefined;
  return new Promise((resolve) => {
    let waiting = behind;
    const poll = () => {
      waiting = waiting.filter((c) => clients.has(c) && c.bufferedAmount > MAX_BUFFERED_BYTES);
      if (waiting.length === 0) resolve();
      else setTimeout(poll, BEHIND_POLL_MS);
    };
    setTimeout(poll, BEHIND_POLL_MS);
  });
}
