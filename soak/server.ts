// The soak server: a sluice App with every kind of long-lived route, run in its own process
// (`node --expose-gc --import tsx soak/server.ts`, spawned by soak/server-process.ts) so that
// its memory and handles are measured apart from the clients'. It reports over IPC: first
// { type: "listening", url }, then a ServerStats for each { type: "stats" } request.
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { App, memoryBroker, ndjson, SseEvent } from "../src/index.js";
import type { ChildMessage, ParentMessage, ServerStats } from "./protocol.js";

const TICK_MS = 50;
const STREAM_INTERVAL_MS = 100;
const HISTORY = 1000;
const RECENT_LOG_LINES = 10;
/**
 * SOAK_INJECT_LEAK=1 makes each WebSocket leak on purpose (a timer, a topic subscriber, a
 * server listener, 256 KiB of heap): test/soak.test.ts runs it to show the checks catch leaks.
 */
const INJECT_LEAK = process.env.SOAK_INJECT_LEAK === "1";
const leaked: unknown[] = [];

const counters = {
  producers: { started: 0, finished: 0 },
  websocketHandlers: { started: 0, finished: 0 },
  logged: { warn: 0, error: 0 },
  recentLogLines: [] as string[],
  peakRss: 0,
};

/** Counts the app's warn and error lines and keeps the last few (pino: 40 warn, 50 error). */
const logSink = {
  write(line: string): void {
    const level = (JSON.parse(line) as { level: number }).level;
    if (level >= 50) counters.logged.error++;
    else if (level >= 40) counters.logged.warn++;
    counters.recentLogLines.push(line.trim());
    if (counters.recentLogLines.length > RECENT_LOG_LINES) counters.recentLogLines.shift();
  },
};

const app = new App({
  logger: pino({ level: "warn" }, logSink),
  broker: memoryBroker({ history: HISTORY }),
});

app.get("/hello", (req) => ({ hello: "soak", id: req.id }));

app.sse("/events", (req) => app.subscribe("ticks", { lastEventId: req.lastEventId }));

app.websocket("/ws", async (socket) => {
  counters.websocketHandlers.started++;
  if (INJECT_LEAK) leakSomething();
  try {
    await socket.subscribe("ticks");
    for await (const message of socket) await socket.send(message);
  } finally {
    counters.websocketHandlers.finished++;
  }
});

function leakSomething(): void {
  leaked.push(setInterval(() => {}, 60_000));
  leaked.push(app.subscribe("ticks"));
  app.server?.setMaxListeners(0); // no warning on stderr for a leak that is on purpose
  app.server?.on("close", () => leaked.length);
  leaked.push(new Array(32 * 1024).fill(leaked.length));
}

/** Makes an item every STREAM_INTERVAL_MS until the client leaves; counts its `finally`. */
async function* everyInterval<T>(signal: AbortSignal, make: (n: number) => T): AsyncGenerator<T> {
  counters.producers.started++;
  try {
    for (let n = 0; !signal.aborted; n++) {
      yield make(n);
      await sleep(STREAM_INTERVAL_MS, undefined, { signal }).catch(() => {});
    }
  } finally {
    counters.producers.finished++;
  }
}

app.get("/feed", (req) => ndjson(everyInterval(req.signal, (n) => ({ n }))));

app.sse("/ticker", (req) =>
  everyInterval(req.signal, (n) => new SseEvent({ data: { n }, id: String(n) })),
);

/**
 * The topic's log is filled to its retained size before the baseline is taken: otherwise
 * the history the churn publishes would look like a leak of up to HISTORY messages.
 */
async function fillHistory(): Promise<void> {
  for (let i = 0; i < HISTORY; i++) await app.publish("ticks", { tick: -i, at: Date.now() });
}

function startTicking(): void {
  let tick = 0;
  setInterval(() => {
    app.publish("ticks", { tick: ++tick, at: Date.now() }).catch((error: Error) => {
      app.logger.error({ err: error }, "publish failed");
    });
  }, TICK_MS);
}

function startRssSampler(): void {
  setInterval(() => {
    counters.peakRss = Math.max(counters.peakRss, process.memoryUsage.rss());
  }, 100);
}

/** Full collections a few times over, with a pause for finalizers and weak callbacks to run. */
async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("soak/server.ts needs node --expose-gc");
  for (let round = 0; round < 4; round++) {
    gc();
    await sleep(50);
  }
}

function countByType(names: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

async function stats(withGc: boolean): Promise<ServerStats> {
  if (withGc) await collectGarbage();
  const server = app.server;
  if (!server) throw new Error("the soak server is not listening");
  const serverConnections = await new Promise<number>((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
  const memory = process.memoryUsage();
  counters.peakRss = Math.max(counters.peakRss, memory.rss);
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    peakRss: counters.peakRss,
    resources: countByType(process.getActiveResourcesInfo()),
    listeners: Object.fromEntries(
      server.eventNames().map((name) => [String(name), server.listenerCount(name)]),
    ),
    connections: { ...app.connections },
    topicSubscribers: app.topicSubscribers,
    producers: { ...counters.producers },
    websocketHandlers: { ...counters.websocketHandlers },
    serverConnections,
    logged: { ...counters.logged },
    recentLogLines: [...counters.recentLogLines],
  };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function onParentMessage(message: ParentMessage): Promise<void> {
  if (message.type === "exit") {
    await app.close({ timeout: 2000 });
    process.exit(0);
  }
  send({ type: "stats", id: message.id, stats: await stats(message.gc) });
}

async function main(): Promise<void> {
  if (!process.send) throw new Error("soak/server.ts runs as a child process with an IPC channel");
  // The driver going away (killed, crashed) must not leave this process behind.
  process.on("disconnect", () => process.exit(0));
  process.on("message", (message: ParentMessage) => {
    onParentMessage(message).catch((error: Error) => {
      console.error(error);
      process.exit(1);
    });
  });
  await fillHistory();
  startTicking();
  startRssSampler();
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  send({ type: "listening", url });
}

await main();
