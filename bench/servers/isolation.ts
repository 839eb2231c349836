import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { App, HttpError } from "../../src/index.js";
import type { IsolationStats, PhaseFigures, SlowClientFigures } from "../lib/isolation-stats.js";
import { announceReady } from "./ready.js";
import { stamp } from "./stamp.js";

/*
 * The server of bench/isolation.ts, in its own process so its RSS is its own: WebSocket
 * (/ws) and SSE (/sse) subscribers of one topic, which this process floods itself at a
 * fixed rate. Clients that connect with `?slow=<name>` are watched: the bytes queued for
 * them, and when the slow-consumer policy cuts them off. The RSS is sampled every few ms
 * and summed up per phase (POST /phase).
 */

const TOPIC = "isolation";
const RSS_SAMPLE_MS = 10;
const OPEN = 1;

/** A watched (slow) client: its figures, and how to read its state now. */
interface SlowClient extends SlowClientFigures {
  queuedBytes(): number;
  isCut(): boolean;
}

interface Phase extends PhaseFigures {
  /** How late each RSS sample's timer ran, in ms. */
  lateness: number[];
}

// sendTimeout 2 s (default 30 s), so that a phase of 10 s shows slow SSE clients disconnected.
const app = new App({ logger: false, sendTimeout: 2000 });
const slowClients = new Map<string, SlowClient>();
const phases: Phase[] = [];
let published = 0;
let publishing = false;

app.websocket("/ws", async (socket) => {
  const name = socket.request.query.get("slow");
  if (name) {
    const client = watch(name, "ws", {
      queuedBytes: () => socket.bufferedAmount,
      isCut: () => socket.readyState !== OPEN,
    });
    void socket.closed.then(({ code }) => ended(client, `closed ${code}`));
  }
  await socket.subscribe(TOPIC);
  await socket.closed;
});

app.sse("/sse", (req) => {
  const subscription = app.subscribe(TOPIC, { signal: req.signal });
  const name = req.query.get("slow");
  if (name) {
    const { response } = req;
    const client = watch(name, "sse", {
      // A ServerResponse's writableLength includes its socket's.
      queuedBytes: () => response.writableLength,
      isCut: () => subscription.cutOff,
    });
    response.once("close", () => ended(client, "connection closed"));
  }
  return subscription;
});

function watch(
  name: string,
  kind: SlowClient["kind"],
  probes: Pick<SlowClient, "queuedBytes" | "isCut">,
): SlowClient {
  const client: SlowClient = { name, kind, subscribedAt: stamp(), peakQueuedBytes: 0, ...probes };
  slowClients.set(name, client);
  return client;
}

function ended(client: SlowClient, how: string): void {
  client.end = how;
  client.endedAt = stamp();
}

/** After each publish: what is queued for each slow client still served, and whether it was cut. */
function sampleSlowClients(): void {
  for (const client of slowClients.values()) {
    if (client.cutAt !== undefined) continue;
    if (client.isCut()) client.cutAt = stamp();
    else client.peakQueuedBytes = Math.max(client.peakQueuedBytes, client.queuedBytes());
  }
}

/**
 * `{ seq, t, pad }` at `rate` messages/s, one per turn of the event loop (a late timer is
 * caught up a turn at a time). `t`, which the clients subtract from their clock, is when the
 * message was due, not when it went out: a server too busy to publish on time shows in the
 * latency too.
 */
async function publishAtRate(rate: number, size: number): Promise<void> {
  const pad = "x".repeat(size);
  const started = performance.now();
  const startedAt = stamp();
  published = 0;
  while (publishing) {
    const due = (published * 1000) / rate;
    const wait = started + due - performance.now();
    if (wait > 0) await sleep(Math.max(1, wait));
    else await nextTurn();
    if (!publishing) return;
    await app.publish(TOPIC, { seq: published, t: startedAt + due, pad });
    published++;
    sampleSlowClients();
  }
}

let lastSample = performance.now();
setInterval(() => {
  const now = performance.now();
  const phase = phases.at(-1);
  if (phase && phase.rssEnd === undefined) {
    const rss = process.memoryUsage.rss();
    phase.rssPeak = Math.max(phase.rssPeak, rss);
    phase.lateness.push(Math.max(0, now - lastSample - RSS_SAMPLE_MS));
    if (phase.lateness.length % (1000 / RSS_SAMPLE_MS) === 0) phase.rssEverySecond.push(rss);
  }
  lastSample = now;
}, RSS_SAMPLE_MS).unref();

function endPhase(phase: Phase, rss: number): void {
  const lateness = phase.lateness.toSorted((a, b) => a - b);
  phase.rssEnd = rss;
  phase.rssPeak = Math.max(phase.rssPeak, rss);
  phase.loopDelayP99 = lateness[Math.max(0, Math.ceil(0.99 * lateness.length) - 1)] ?? 0;
  phase.loopDelayMax = lateness.at(-1) ?? 0;
  phase.lateness = [];
}

app.post("/start", (req) => {
  const rate = Number(req.query.get("rate"));
  const size = Number(req.query.get("size"));
  if (!(rate > 0 && rate <= 100_000) || !(Number.isInteger(size) && size >= 0)) {
    throw new HttpError(400, "rate (1..100000 messages/s) and size (bytes) are required");
  }
  if (publishing) throw new HttpError(409, "already publishing");
  publishing = true;
  publishAtRate(rate, size).catch((error) => {
    console.error("isolation server: publish failed:", error);
    process.exit(1);
  });
  return { started: true };
});

app.post("/stop", () => {
  publishing = false;
  return { published };
});

/** Ends the current phase and starts `name` (or none, for name "end"). */
app.post("/phase", (req) => {
  const rss = process.memoryUsage.rss();
  const current = phases.at(-1);
  if (current && current.rssEnd === undefined) endPhase(current, rss);
  const name = req.query.get("name") ?? "";
  if (name !== "end")
    phases.push({ name, rssStart: rss, rssPeak: rss, lateness: [], rssEverySecond: [] });
  return { rss };
});

app.get(
  "/stats",
  (): IsolationStats => ({
    rss: process.memoryUsage.rss(),
    published,
    connections: app.connections,
    subscribers: app.topicSubscribers,
    phases,
    slow: [...slowClients.values()].map(({ queuedBytes, isCut, ...figures }) => ({
      ...figures,
      queuedNow: queuedBytes(),
    })),
  }),
);

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
