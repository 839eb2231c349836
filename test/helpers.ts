import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { App, type AppOptions } from "../src/index.js";

export { sleep };

export interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  err?: { message: string; type: string };
  [key: string]: unknown;
}

/** A pino logger whose lines are kept in memory, to assert on what the app logged. */
export function capturedLogger(level = "debug") {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level }, destination), lines };
}

/** An App that logs nowhere, for tests that do not look at logs. */
export function quietApp(options: AppOptions = {}): App {
  return new App({ logger: false, ...options });
}

/** Connections an app's server holds now (its clients' keep-alive ones included). */
export function openConnections(app: App): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = app.server;
    if (!server) return reject(new Error("the app is not listening"));
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
}

/** Resolves once `check()` is true, or rejects after `timeout` ms saying what was awaited. */
export async function waitFor(check: () => boolean, what: string, timeout = 2000): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeout)
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await sleep(5);
  }
  return performance.now() - started;
}

/** Like waitFor, for checks that must ask the server (over the network) each time. */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  timeout = 2000,
): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeout)
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Awaits a promise, failing with `what` after `ms` instead of hanging the run. */
export async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
