import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ListenOptions {
  /** Default: the PORT environment variable, else 3000. 0 picks a free port. */
  port?: number;
  /** Default "127.0.0.1"; use "0.0.0.0" or "::" to accept connections from other hosts. */
  host?: string;
  /** Close gracefully on SIGTERM and SIGINT, then exit. Default false. */
  handleSignals?: boolean;
}

export interface ListeningServer {
  port: number;
  host: string;
  /** Base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  server: Server;
  close(): Promise<void>;
  /** @internal */
  detachSignals(): void;
}

interface Closable {
  close(): Promise<void>;
  readonly logger: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export async function listenOn(
  server: Server,
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
    url: `http://${urlHost(host)}:${address.port}`,
    server,
    close: () => app.close(),
    detachSignals,
  };
}

function defaultPort(): number {
  const fromEnv = Number(process.env.PORT);
  return Number.isInteger(fromEnv) && fromEnv >= 0 ? fromEnv : 3000;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/** First signal: graceful close then exit 0. A second one while closing: exit 1 at once. */
function attachSignals(app: Closable): () => void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      app.logger.error({ signal }, "second signal while closing; exiting now");
      process.exit(1);
    }
    closing = true;
    app.logger.info({ signal }, "closing gracefully");
    app.close().then(
      () => process.exit(0),
      (error: Error) => {
        app.logger.error({ err: error }, "graceful close failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
