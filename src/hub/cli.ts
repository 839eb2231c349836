import cluster from "node:cluster";
import type { Writable } from "node:stream";
import type { App } from "../app/app.js";
import type { HubExtras } from "./hub.js";
import { ANY_TOPIC, hubConfig } from "./hub-config.js";
import { HubConfigError } from "./hub-config-error.js";
import type { HubOptions } from "./hub-options.js";
import { hubUsage } from "./hub-usage.js";

/** Where the CLI writes and what it reads its SLUICE_* variables from (the process's, by default). */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const HELP = new Set(["--help", "-h", "help"]);

/**
 * The `sluice` command, given its arguments (without `node` and the script): `sluice hub
 * [options]` starts the hub and resolves undefined once it listens (it runs until SIGTERM or
 * SIGINT, which drain it and exit); otherwise resolves the exit code. `--help` prints the
 * usage (0); an unknown command prints it to stderr (2); a configuration error prints its
 * message alone (2); a hub that cannot start (a port in use, a missing peer package) 1.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command !== undefined && HELP.has(command)) {
    io.stdout.write(hubUsage());
    return 0;
  }
  if (command !== "hub") {
    const what = command === undefined ? "no command given" : `unknown command "${command}"`;
    io.stderr.write(`sluice: ${what}\n\n${hubUsage()}`);
    return 2;
  }
  if (rest.some((arg) => arg === "--help" || arg === "-h")) {
    io.stdout.write(hubUsage());
    return 0;
  }
  let options: HubOptions;
  try {
    options = hubConfig(rest, io.env);
  } catch (error) {
    if (!(error instanceof HubConfigError)) throw error;
    io.stderr.write(`sluice hub: ${error.message}\n`);
    return 2;
  }
  if (options.workers > 1 && cluster.isPrimary) {
    const { startPrimary } = await import("./hub-primary.js");
    return startPrimary(options, io.stderr);
  }
  return startHub(options, io.stderr);
}

/** A cluster worker's hub: /metrics sums every worker's counts; the primary says when to close. */
async function startWorker(
  options: HubOptions,
  create: (options: HubOptions, extras: HubExtras) => App,
): Promise<undefined> {
  const { gatheredSamples, serveAsWorker } = await import("./hub-worker.js");
  const sample = () => app.metrics();
  const app = create(options, { metrics: gatheredSamples(sample) });
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (error) {
    await app.close();
    throw error;
  }
  serveAsWorker(app, sample);
  return undefined;
}

/**
 * Creates the hub and listens; 1 with the reason on stderr when it cannot. In a cluster
 * worker (`--workers N`), the primary says when to close, and logs the ready line.
 */
async function startHub(options: HubOptions, stderr: Writable): Promise<number | undefined> {
  let app: App | undefined;
  try {
    // Loaded only to start: jose and ioredis (optional peers of sluice) are needed from here.
    const { createHub } = await import("./hub.js");
    if (cluster.isWorker) return await startWorker(options, createHub);
    app = createHub(options);
    await app.listen({ port: options.port, host: options.host, handleSignals: true });
  } catch (error) {
    stderr.write(`sluice hub: cannot start: ${(error as Error).message}\n`);
    await app?.close();
    return 1;
  }
  app.logger.info(
    {
      broker: options.redis ? "redis" : "memory",
      topics: options.topics === ANY_TOPIC ? "any" : options.topics,
      publishKeys: options.publishKeys.length,
      jwt: options.jwt ? (options.jwt.secret ? "secret" : "jwks") : "none",
      corsOrigins: options.corsOrigins,
    },
    "sluice hub ready",
  );
  return undefined;
}
