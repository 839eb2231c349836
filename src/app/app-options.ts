import type { SluiceRequest } from "../http/request.js";
import type { Broker } from "../topics/broker.js";
import type { LoggerOption } from "../util/logger.js";

export interface AppOptions {
  /** A pino logger, pino options, or false. Default: pino at LOG_LEVEL or "info". */
  logger?: LoggerOption;
  /** Largest request body `json()`/`text()`/`bytes()` accept, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Time a client has to send its request headers (slowloris guard). Default 10 s. */
  headersTimeout?: number;
  /** Time a client has to send its whole request. Default 60 s. */
  requestTimeout?: number;
  /** Idle time before a keep-alive connection is closed. Default 5 s. */
  keepAliveTimeout?: number;
  /** Largest request head in bytes; larger gets 431. Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * Most header fields a request may carry (repeats count each time); more gets 431 before
   * middleware runs, upgrades included. Default 100, as Apache's LimitRequestFields: browsers
   * send about 20, proxies add a few.
   */
  maxHeadersCount?: number;
  /** Default grace period of `close()`, in ms. Default 10 s. */
  closeTimeout?: number;
  /**
   * How long, in ms, a stream may wait for a client that takes none of its bytes before the
   * connection is cut (as nginx's `send_timeout`): while its socket is full, and after it
   * ended with bytes still queued (an SSE subscriber cut off for falling behind, say). A
   * client that reads, however slowly, is not cut. Default 30 000; 0: never.
   */
  sendTimeout?: number;
  /** Header a request id is read from and echoed in. false: never trust a client id (it is still echoed as x-request-id). */
  requestIdHeader?: string | false;
  /** Makes request ids when the client sent none. */
  generateRequestId?: () => string;
  /**
   * Where topics live: `memoryBroker()` (the default, history 1 000 per topic) for one
   * process, `redisBroker()` from "sluice/redis" for many. `close()` closes it once the
   * last App using it closes.
   */
  broker?: Broker;
  /**
   * Most long-lived connections open at once: SSE streams plus WebSockets, what
   * `app.connections` counts. Plain HTTP requests are not counted: they end by themselves,
   * and Node's own limits bound them (`headersTimeout`, `requestTimeout`, `keepAliveTimeout`,
   * `server.maxConnections`), whereas a stream or socket may stay open for hours. Past the
   * cap a new SSE stream gets 503 with `Retry-After: 5` before it starts, and a new
   * WebSocket is accepted then closed at once with 1013 and a reason (browsers cannot read
   * an HTTP refusal of an upgrade). A place is taken once middleware let the connection
   * through and given back when it ends, however it ends. Default: no limit.
   */
  maxConnections?: number;
  /**
   * Most long-lived connections (as for `maxConnections`) open at once from one client
   * address: the socket's remote address, unless `clientAddress` says otherwise. Behind a
   * proxy or load balancer every client has the proxy's address: set `clientAddress` then.
   * Default: no limit.
   */
  maxConnectionsPerIp?: number;
  /**
   * The client address `maxConnectionsPerIp` counts by; called after middleware. Default: the
   * socket's `remoteAddress`. Behind a proxy you trust, read its header here (the last hop
   * of `x-forwarded-for`, say); a client can forge any header a proxy does not overwrite.
   * One that throws or returns no string falls back to the socket's address.
   */
  clientAddress?: (request: SluiceRequest) => string;
  /**
   * How many leading bits of an IPv6 client address `maxConnectionsPerIp` counts as one
   * client (an integer from 1 to 128): a host is commonly given a whole /64 and can use a new
   * address per connection. An IPv4-mapped address (`::ffff:1.2.3.4`) counts as the IPv4
   * address. Default: 64.
   */
  ipv6Prefix?: number;
  /**
   * Check what the app sends against the schemas it declared: an HTTP route's `response`, a
   * WebSocket route's `send`, an SSE route's `events`, a real-time method's `result`. What
   * the app receives (bodies, queries, messages, publishes, call params) is always validated;
   * what it sends is typed always and checked only when this is on, and never transformed
   * (the value sent is the one the handler gave). A failed check is the server's bug: an
   * OutputValidationError (HTTP 500, WebSocket 1011), logged. Default: on unless NODE_ENV is
   * "production", where it would cost a validation per response on data the compiler
   * already typed.
   */
  validateOutput?: boolean;
}

export interface CloseOptions {
  /** How long in-flight requests and streams get to finish before they are cut, in ms. */
  timeout?: number;
}

/** The options' limits and timeouts, with the defaults filled in. */
export type AppSettings = typeof DEFAULTS;

const DEFAULTS = {
  bodyLimit: 1024 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 5_000,
  maxHeaderSize: 16 * 1024,
  maxHeadersCount: 100,
  closeTimeout: 10_000,
  sendTimeout: 30_000,
};

/** The settings the options ask for; a TypeError for one that is out of range. */
export function appSettings(options: AppOptions): AppSettings {
  return {
    bodyLimit: options.bodyLimit ?? DEFAULTS.bodyLimit,
    headersTimeout: options.headersTimeout ?? DEFAULTS.headersTimeout,
    requestTimeout: options.requestTimeout ?? DEFAULTS.requestTimeout,
    keepAliveTimeout: options.keepAliveTimeout ?? DEFAULTS.keepAliveTimeout,
    maxHeaderSize: options.maxHeaderSize ?? DEFAULTS.maxHeaderSize,
    maxHeadersCount: headerCountLimit(options.maxHeadersCount),
    closeTimeout: options.closeTimeout ?? DEFAULTS.closeTimeout,
    sendTimeout: timeoutOption("sendTimeout", options.sendTimeout, DEFAULTS.sendTimeout),
  };
}

/** Whether sent values are checked against their schemas (see AppOptions.validateOutput). */
export function validatesOutput(options: AppOptions): boolean {
  const value = options.validateOutput;
  if (value === undefined) return process.env.NODE_ENV !== "production";
  if (typeof value !== "boolean") {
    throw new TypeError(`validateOutput must be true or false, got ${String(value)}`);
  }
  return value;
}

function timeoutOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new TypeError(
      `${name} must be a whole number of ms from 0 to ${2 ** 31 - 1}, got ${String(value)}`,
    );
  }
  return value;
}

function headerCountLimit(value: unknown): number {
  if (value === undefined) return DEFAULTS.maxHeadersCount;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`maxHeadersCount must be a positive whole number, got ${String(value)}`);
  }
  return value;
}
