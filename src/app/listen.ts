import type { Server } from "node:http";
import type { Http2SecureServer, Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "pino";
import { logWritesSettled } from "../util/logger.js";

export interface ListenOptions {
  /** Default: the PORT environment variable, else 3000. 0 picks a free port. */
  port?: number;
  /** Default "127.0.0.1"; use "0.0.0.0" or "::" to accept connections from other hosts. */
  host?: string;
  /** Close gracefully on SIGTERM and SIGINT, then exit. Default false. */
  handleSignals?: boolean;
  /**
   * Serve HTTP/2. `true`: over TLS (give `tls`), HTTP/2 offered by ALPN and HTTP/1.1 still
   * served on the same port to clients that do not speak it (their WebSockets included).
   * `"cleartext"`: h2c with prior knowledge, for a proxy in front that speaks h2 to the app;
   * HTTP/1.1 clients are not served on that port (Node answers them with an h2 GOAWAY and
   * closes). Default false: HTTP/1.1.
   */
  http2?: boolean | "cleartext";
  /**
   * With `http2`: serve WebSockets on streams of the h2 connection (RFC 8441, extended
   * CONNECT), as Chromium and Firefox use when the server offers it; the same routes,
   * middleware, limits and heartbeat as over HTTP/1.1. `false` does not offer it
   * (SETTINGS_ENABLE_CONNECT_PROTOCOL stays off): browsers then open their WebSockets on an
   * HTTP/1.1 connection of their own. Default true.
   */
  http2WebSockets?: boolean;
  /**
   * Serve over TLS with this key and certificate (PEM): HTTPS/1.1, or HTTP/2 with `http2:
   * true`. Other `node:tls` context options (`ca`, `passphrase`, `minVersion`...) pass on.
   */
  tls?: TlsOptions;
}

/** The key and certificate of `listen({ tls })`, PEM text or bytes, and other context options. */
export interface TlsOptions extends SecureContextOptions {
  key: NonNullable<SecureContextOptions["key"]>;
  cert: NonNullable<SecureContextOptions["cert"]>;
}

/**
 * The server `listen()` made: node:http's, node:https's (a node:http Server too, for
 * TypeScript), or with `http2` node:http2's.
 */
export type AppServer = Server | Http2SecureServer | Http2Server;

/**
 * What `listen()` resolves to. Its `server` is typed by the options `listen()` was given
 * (node:http's Server without `http2`); written without a type argument, any of them.
 */
export interface ListeningServer<S extends AppServer = AppServer> {
  port: number;
  host: string;
  /** Base URL, e.g. http://127.0.0.1:3000 (https:// with `tls`) */
  url: string;
  server: S;
  close(): Promise<void>;
  /** @internal */
  detachSignals(): void;
}

interface Closable {
  close(): Promise<void>;
  readonly logger: Logger;
}

export async function listenOn(
  server: AppServer,
  options: ListenOptions,
  app: Closable,
): Promise<ListeningServer> {
  const port = options.port ?? defaultPort();
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const detachSignals = options.handleSignals ? attachSignals(app) : () => {};
  return {
    port: address.port,
    host,
    url: `${options.tls ? "https" : "http"}://${urlHost(host)}:${address.port}`,
    server,
    close: () => app.close(),
    detachSignals,
  };
}

/** The PORT environment variable when it holds a port number (an empty one counts as unset), else 3000. */
export function defaultPort(env: string | undefined = process.env.PORT): number {
  const trimmed = env?.trim() ?? "";
  const fromEnv = Number(trimmed);
  return trimmed !== "" && Number.isInteger(fromEnv) && fromEnv >= 0 && fromEnv <= 65535
    ? fromEnv
    : 3000;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Every app that asked for signal handling, served by one process-wide handler: the first
 * signal closes them all gracefully and exits 0 once every close has settled (1 if one
 * failed); a second signal while closing exits 1 at once.
 */
const signalApps = new Set<Closable>();
let closingOnSignal = false;

/**
 * How long the exit waits, after the closes, for log lines an asynchronous destination is
 * still writing: one that neither writes nor fails by then loses them, and cannot hold the
 * exit (see logWritesSettled).
 */
const LOG_SETTLE_TIMEOUT_MS = 500;

function onSignal(signal: NodeJS.Signals): void {
  const apps = [...signalApps];
  if (closingOnSignal) {
    for (const app of apps)
      quietly(() => app.logger.error({ signal }, "second signal while closing; exiting now"));
    process.exit(1);
  }
  closingOnSignal = true;
  for (const app of apps) quietly(() => app.logger.info({ signal }, "closing gracefully"));
  Promise.allSettled(apps.map((app) => app.close())).then(async (outcomes) => {
    outcomes.forEach((outcome, index) => {
      if (outcome.status === "rejected") {
        quietly(() => apps[index].logger.error({ err: outcome.reason }, "graceful close failed"));
      }
    });
    // process.exit runs pino's exit-time flush, which a broken pipe would hold for ever;
    // a write that fails before it makes pino drop the destination's lines instead.
    await Promise.all(apps.map((app) => logWritesSettled(app.logger, LOG_SETTLE_TIMEOUT_MS)));
    process.exit(outcomes.some((outcome) => outcome.status === "rejected") ? 1 : 0);
  });
}

/** A log line that must not stop the shutdown: a logger that throws loses it. */
function quietly(log: () => void): void {
  try {
    log();
  } catch {}
}

function attachSignals(app: Closable): () => void {
  if (signalApps.size === 0) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  signalApps.add(app);
  return () => {
    // An app closed on its own stops taking part, unless a signal is being handled.
    if (closingOnSignal || !signalApps.delete(app) || signalApps.size > 0) return;
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
