import type { SluiceRequest } from "../http/request.js";
import type { DeflateOptions } from "./deflate-options.js";
import { type OriginPolicy, originCheck, originPolicyOf } from "./origin-check.js";

export interface WebSocketOptions {
  /** Subprotocols this route speaks, preferred first; the first one the client offers is chosen. */
  protocols?: readonly string[];
  /** Refuse (400) a client that offers none of `protocols`. Default false: upgrade without one. */
  requireProtocol?: boolean;
  /**
   * Browser origins allowed to connect (`https://app.example`), a function that decides, or
   * `"*"` for any. Others get 403. Default: the page's own origin only (the Origin's host is
   * the request's Host, and so is its port when Host gives one; the scheme is not compared,
   * as a TLS-terminating proxy sends Host without a port), which stops cross-site WebSocket
   * hijacking: browsers send cookies with a cross-site upgrade, and CORS does not apply to
   * WebSockets. Behind a proxy that rewrites Host, list your origins. A request without an Origin header (not a browser) is
   * let through: auth middleware decides about those.
   *
   * A listed entry may be a pattern: `*` as the port (`"http://localhost:*"`, a dev server
   * such as Vite's on :5173) or as the leftmost host label (`"https://*.example.com"`: any
   * subdomain, not `example.com` itself). `*` anywhere else, or an entry that is not a whole
   * origin, throws a TypeError when the route is added. Each refusal is logged at info with
   * the `origins` setting that would let that origin in.
   */
  origins?: readonly string[] | "*" | ((origin: string, request: SluiceRequest) => boolean);
  /** Largest message accepted, in bytes; a larger one closes the socket with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Ping interval in ms; a peer that has not answered by the next ping is dropped. 0 disables. Default 30 000. */
  heartbeat?: number;
  /** Bytes queued for a peer that is not reading past which it is closed with 1013. Default 4 MiB. */
  maxBuffered?: number;
  /** permessage-deflate: true for sluice's defaults, or DeflateOptions (handed to ws). Default false. */
  compression?: boolean | DeflateOptions;
  /** How long a close waits for the peer's answer before the connection is cut, in ms. Default 5 000. */
  closeTimeout?: number;
  /**
   * Incoming messages a socket may send: a burst of up to `messages`, refilled at `messages`
   * per `perMs` ms (a token bucket for each socket). A peer that sends one more is closed with
   * 1008 "message rate limit exceeded": that message and any after it are not delivered, the
   * ones before it are, then the handler's loop ends. `false` (the default) sets no limit:
   * memory is already bounded without one (`maxPayload`, and a peer whose messages are not
   * read is paused), and what rate is abuse depends on the app's protocol: a default would
   * close legitimate fast clients (a file sent in small chunks, telemetry) that work today.
   * `{ messages: 100, perMs: 1_000 }` suits a chat-like protocol.
   */
  messageRate?: MessageRate | false;
}

/** A rate limit: at most `messages` in a burst, refilled at `messages` per `perMs` ms. */
export interface MessageRate {
  /** The burst, and how many come back every `perMs`: a positive whole number. */
  messages: number;
  /** In ms: a positive whole number. */
  perMs: number;
}

export interface ResolvedWebSocketOptions {
  protocols: readonly string[];
  requireProtocol: boolean;
  origins: ((origin: string, request: SluiceRequest) => boolean) | undefined;
  /** Where `origins` came from, to say in a refusal's log line what to change. */
  originPolicy: OriginPolicy;
  maxPayload: number;
  heartbeat: number;
  maxBuffered: number;
  compression: false | DeflateOptions;
  closeTimeout: number;
  /** A frozen copy of the option, or false for no limit. */
  messageRate: Readonly<MessageRate> | false;
}

const DEFAULTS = {
  maxPayload: 1024 * 1024,
  heartbeat: 30_000,
  maxBuffered: 4 * 1024 * 1024,
  closeTimeout: 5_000,
};

/**
 * Deflate without context takeover on the server side: each message is compressed on its
 * own (ws resets the compressor between messages rather than keeping a window of history).
 * Small messages are sent as they are.
 */
const DEFAULT_COMPRESSION: DeflateOptions = {
  serverNoContextTakeover: true,
  threshold: 1024,
};

const MAX_TIMER_MS = 2 ** 31 - 1;
/** A token as RFC 6455 requires for a subprotocol name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Checks the options when the route is added, not when a client connects. */
export function resolveWebSocketOptions(
  path: string,
  options: WebSocketOptions,
): ResolvedWebSocketOptions {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`WebSocket route ${path}: options must be an object`);
  }
  const where = `WebSocket route ${path}:`;
  return {
    protocols: checkProtocols(where, options.protocols),
    requireProtocol: options.requireProtocol === true,
    origins: originCheck(where, options.origins),
    originPolicy: originPolicyOf(options.origins),
    maxPayload: positiveInteger(where, "maxPayload", options.maxPayload, DEFAULTS.maxPayload),
    heartbeat: timerMs(where, "heartbeat", options.heartbeat, DEFAULTS.heartbeat, true),
    maxBuffered: positiveInteger(where, "maxBuffered", options.maxBuffered, DEFAULTS.maxBuffered),
    compression: compressionOf(where, options.compression),
    closeTimeout: timerMs(where, "closeTimeout", options.closeTimeout, DEFAULTS.closeTimeout),
    messageRate: messageRateOf(where, options.messageRate),
  };
}

function checkProtocols(where: string, protocols: readonly string[] | undefined): string[] {
  if (protocols === undefined) return [];
  if (!Array.isArray(protocols)) throw new TypeError(`${where} protocols must be an array`);
  for (const protocol of protocols) {
    if (typeof protocol !== "string" || !TOKEN.test(protocol)) {
      throw new TypeError(`${where} "${String(protocol)}" is not a valid subprotocol name`);
    }
  }
  return [...protocols];
}

function positiveInteger(where: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${where} ${name} must be a positive whole number of bytes, got ${value}`);
  }
  return value;
}

function timerMs(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  zeroDisables = false,
): number {
  if (value === undefined) return fallback;
  const least = zeroDisables ? 0 : 1;
  if (
    typeof value !== "number" ||
    !Number.isInteger(value) ||
    value < least ||
    value > MAX_TIMER_MS
  ) {
    throw new TypeError(
      `${where} ${name} must be a whole number of ms from ${least} to ${MAX_TIMER_MS}${zeroDisables ? " (0 disables it)" : ""}, got ${value}`,
    );
  }
  return value;
}

function compressionOf(
  where: string,
  compression: WebSocketOptions["compression"],
): ResolvedWebSocketOptions["compression"] {
  if (compression === undefined || compression === false) return false;
  if (compression === true) return DEFAULT_COMPRESSION;
  if (typeof compression !== "object" || compression === null) {
    throw new TypeError(`${where} compression must be true, false or permessage-deflate options`);
  }
  return compression;
}

function messageRateOf(
  where: string,
  rate: WebSocketOptions["messageRate"],
): ResolvedWebSocketOptions["messageRate"] {
  if (rate === undefined || rate === false) return false;
  if (typeof rate !== "object" || rate === null || Array.isArray(rate)) {
    throw new TypeError(
      `${where} messageRate must be { messages, perMs } (positive whole numbers) or false, got ${describe(rate)}`,
    );
  }
  const { messages, perMs } = rate;
  for (const [name, value] of [
    ["messages", messages],
    ["perMs", perMs],
  ] as const) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(
        `${where} messageRate.${name} must be a positive whole number, got ${describe(value)}`,
      );
    }
  }
  return Object.freeze({ messages, perMs });
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {}
  }
  return String(value);
}
