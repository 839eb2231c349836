import type { MessageDecoder } from "./message-decoder.js";
import { MessageRateLimit } from "./message-rate.js";
import type { SendEncoder } from "./send-encoder.js";
import type { MessageRate } from "./websocket-options.js";

/** Per-route limits (and schemas) a socket enforces: one object shared by the route's sockets. */
export interface SocketLimits {
  readonly maxBuffered: number;
  /** How long the handler may leave the peer paused (not reading its messages), in ms. */
  readonly unreadTimeout: number;
  /** Bytes queued for the peer past which `send()` resolves only once they are written out. */
  readonly sendHighWater: number;
  /** Incoming messages allowed, or undefined for no limit. */
  readonly messageRate: MessageRateLimit | undefined;
  /** A schema route's `message` side: how what arrives is parsed and validated. */
  readonly decoder: MessageDecoder | undefined;
  /** A schema route's `send` side: how what is sent is checked and encoded. */
  readonly encoder: SendEncoder | undefined;
}

/** The schemas of a route that declared them: each side made once for all its sockets. */
export interface SocketSchemas {
  readonly decoder?: MessageDecoder;
  readonly encoder?: SendEncoder;
}

/** Bytes queued for the peer past which `send()` resolves only once they are written out. */
const SEND_HIGH_WATER = 256 * 1024;

/** A route's limits, computed once for all its sockets. */
export function socketLimits(
  maxBuffered: number,
  unreadTimeout: number,
  messageRate: Readonly<MessageRate> | false = false,
  schemas: SocketSchemas = {},
): SocketLimits {
  return {
    maxBuffered,
    unreadTimeout,
    sendHighWater: Math.min(SEND_HIGH_WATER, Math.ceil(maxBuffered / 2)),
    messageRate: messageRate === false ? undefined : new MessageRateLimit(messageRate),
    decoder: schemas.decoder,
    encoder: schemas.encoder,
  };
}

/** The close reason a peer over its route's `messageRate` gets (with 1008). */
export const MESSAGE_RATE_EXCEEDED = "message rate limit exceeded";
