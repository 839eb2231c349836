/*
 * Slow-consumer isolation, in figures: a topic flooded at 10 MB/s (1 000 messages/s of 10 KiB
 * by default) with healthy WebSocket and SSE subscribers, measured in two phases of equal
 * length: A with the healthy clients only, B with slow clients added (their sockets never
 * read). Reports the healthy clients' latency in each phase, the server's RSS (it runs in
 * its own process: bench/servers/isolation.ts), when and how each slow client was cut off,
 * the bytes the server had queued for it, and deliveries the healthy clients lost.
 *
 *   npx tsx bench/isolation.ts [--phase 10] [--warmup 2] [--ws 10] [--sse 10]
 *                              [--slow-ws 5] [--slow-sse 5] [--rate 1000] [--size 10240]
 *
 * Latency is receive time minus the publish time each message carries, both on the same
 * machine's clock (bench/servers/stamp.ts). On a machine with taskset and two cores the
 * server runs on core 0 and these clients on core 1, as in bench/run.ts.
 */
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import type { IsolationStats } from "./lib/isolation-stats.js";
import { LatencyRecorder } from "./lib/latency.js";
import { pinSelf } from "./lib/pinning.js";
import { type ServerProcess, startServer } from "./lib/servers.js";
import { SseClient } from "./lib/sse-client.js";
import { BroadcastClient } from "./lib/ws-client.js";
import { topicEnvelope } from "./lib/ws-dialect.js";

const { values: flags } = parseArgs({
  options: {
    phase: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    ws: { type: "string", default: "10" },
    sse: { type: "string", default: "10" },
    "slow-ws": { type: "string", default: "5" },
    "slow-sse": { type: "string", default: "5" },
    rate: { type: "string", default: "1000" },
    size: { type: "string", default: "10240" },
  },
});
const config = {
  phaseMs: Number(flags.phase) * 1000,
  warmupMs: Number(flags.warmup) * 1000,
  ws: Number(flags.ws),
  sse: Number(flags.sse),
  slowWs: Number(flags["slow-ws"]),
  slowSse: Number(flags["slow-sse"]),
  rate: Number(flags.rate),
  size: Number(flags.size),
};
const DRAIN_TIMEOUT_MS = 30_000;
const SLOW_END_TIMEOUT_MS = 15_000;
const MiB = 2 ** 20;

/** The latency recorder of the phase being measured; none records between phases. */
class PhasedLatency extends LatencyRecorder {
  current: LatencyRecorder | undefined;

  enter(phase: LatencyRecorder | undefined): void {
    if (this.current) this.current.recording = false;
    if (phase) phase.recording = true;
    this.current = phase;
    this.recording = phase !== undefined;
  }

  override record(latencyMs: number): void {
    this.current?.record(latencyMs);
  }
}

/** A slow client: connected, then never reads until `finish()` lets it read to the end. */
interface SlowClient {
  name: string;
  /** Reads what waited for it; resolves how its connection ended, as the client saw it. */
  finish(): Promise<string>;
}

function main(): Promise<void> {
  return run().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

async function run(): Promise<void> {
  const pinned = pinSelf();
  // --expose-gc: SIGUSR2 makes the server collect garbage (bench/servers/ready.ts), so the
  // last RSS reading shows what it retains once the slow clients are gone.
  const server = await startServer("isolation", "isolation.ts", ["--expose-gc"]);
  try {
    await measure(server, pinned);
  } finally {
    await server.stop();
  }
}

async function measure(server: ServerProcess, pinned: boolean): Promise<void> {
  const base = `http://127.0.0.1:${server.port}`;
  const latency = new PhasedLatency();
  const phaseA = new LatencyRecorder();
  const phaseB = new LatencyRecorder();
  const wsClients = await Promise.all(
    Array.from({ length: config.ws }, () =>
      BroadcastClient.open(`ws://127.0.0.1:${server.port}/ws`, latency, topicEnvelope),
    ),
  );
  const sseClients = await Promise.all(
    Array.from({ length: config.sse }, () => SseClient.open(server.port, "/sse", latency)),
  );
  await Promise.all(sseClients.map((client) => client.ready));
  await until(
    async () => (await stats(base)).subscribers === config.ws + config.sse,
    "every healthy client to be subscribed",
  );

  await post(base, `/start?rate=${config.rate}&size=${config.size}`);
  await sleep(config.warmupMs);
  await post(base, "/phase?name=A");
  latency.enter(phaseA);
  await sleep(config.phaseMs);
  await post(base, "/phase?name=B");
  latency.enter(phaseB);
  const slowClients = await Promise.all([
    ...Array.from({ length: config.slowWs }, (_, i) => slowWebSocket(server.port, `ws-${i + 1}`)),
    ...Array.from({ length: config.slowSse }, (_, i) => slowSse(server.port, `sse-${i + 1}`)),
  ]);
  await sleep(config.phaseMs);
  latency.enter(undefined);
  await post(base, "/phase?name=end");
  const { published } = (await post(base, "/stop")) as { published: number };

  const delivered = () => [
    ...wsClients.map((client) => client.received),
    ...sseClients.map((client) => client.events),
  ];
  await until(
    async () => delivered().every((count) => count >= published),
    "the healthy clients to get every message",
    DRAIN_TIMEOUT_MS,
  ).catch((error: Error) => console.error(`warning: ${error.message}`));
  const errors = [...wsClients, ...sseClients].flatMap((client) =>
    client.error ? [client.error.message] : [],
  );
  const atEnd = await stats(base);
  const clientEnds = new Map<string, string>();
  for (const client of slowClients) clientEnds.set(client.name, await client.finish());
  process.kill(server.pid, "SIGUSR2");
  await sleep(500);
  const finalStats = await stats(base);
  for (const client of [...wsClients, ...sseClients]) client.close();

  report({
    pinned,
    published,
    delivered: delivered(),
    errors,
    phaseA,
    phaseB,
    atEnd,
    finalStats,
    clientEnds,
  });
}

/** A `ws` client that pauses its socket as soon as it is open. */
async function slowWebSocket(port: number, name: string): Promise<SlowClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?slow=${name}`, { perMessageDeflate: false });
  ws.on("error", () => {}); // shows as the close code
  await once(ws, "open");
  ws.pause();
  const closed = once(ws, "close") as Promise<[number, Buffer]>;
  return {
    name,
    async finish() {
      ws.resume();
      const outcome = await withTimeout(closed, SLOW_END_TIMEOUT_MS);
      if (outcome === undefined) {
        ws.terminate();
        return "still open";
      }
      const [code, reason] = outcome;
      return `close ${code}${reason.length ? ` "${reason}"` : ""}`;
    },
  };
}

/** A raw socket that asks for the SSE stream and never reads. */
async function slowSse(port: number, name: string): Promise<SlowClient> {
  const socket: Socket = connect(port, "127.0.0.1");
  socket.pause();
  socket.on("error", () => {});
  await once(socket, "connect");
  socket.write(`GET /sse?slow=${name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return {
    name,
    async finish() {
      let bytes = 0;
      let tail = "";
      socket.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        tail = (tail + chunk.toString("latin1", Math.max(0, chunk.length - 16))).slice(-16);
      });
      const closed = once(socket, "close");
      socket.resume();
      // A stream that ended cleanly ends with the last chunk; the connection then stays
      // open for the next request, so the client closes it once that arrived.
      const ended = until(async () => tail.endsWith("0\r\n\r\n"), "", SLOW_END_TIMEOUT_MS);
      const how = await Promise.race([
        ended.then(() => "stream ended cleanly (last chunk)"),
        closed.then(() => "connection closed by the server"),
      ]).catch(() => "still open");
      socket.destroy();
      return `${how}, ${(bytes / MiB).toFixed(1)} MiB read after resuming`;
    },
  };
}

interface Results {
  pinned: boolean;
  published: number;
  delivered: number[];
  errors: string[];
  phaseA: LatencyRecorder;
  phaseB: LatencyRecorder;
  /** Server stats once publishing stopped, before the slow clients read again. */
  atEnd: IsolationStats;
  /** Server stats after the slow clients read to their end. */
  finalStats: IsolationStats;
  clientEnds: Map<string, string>;
}

function report(results: Results): void {
  const { phaseA, phaseB, atEnd } = results;
  const [a, b] = ["A", "B"].map((name) => atEnd.phases.find((phase) => phase.name === name));
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  const ratio = (x: number, y: number) => `${(y / x).toFixed(2)}x`;
  const mib = (bytes: number | undefined) =>
    bytes === undefined ? "-" : `${(bytes / MiB).toFixed(1)} MiB`;
  const lost = results.delivered.reduce((sum, count) => sum + (results.published - count), 0);
  const lines = [
    `## Slow-consumer isolation (${config.rate} messages/s x ${config.size} B = ${((config.rate * config.size) / 1e6).toFixed(1)} MB/s into one topic)`,
    "",
    `${config.ws} WebSocket + ${config.sse} SSE healthy subscribers; phase B adds ${config.slowWs} WebSocket + ${config.slowSse} SSE clients that never read. Phases of ${config.phaseMs / 1000} s after ${config.warmupMs / 1000} s of warm-up; ${results.published} messages published.${results.pinned ? " Server on core 0, clients on core 1." : ""}`,
    "",
    "| healthy clients | phase A (baseline) | phase B (slow clients) | B/A |",
    "| --- | ---: | ---: | ---: |",
    `| p50 latency | ${ms(phaseA.percentile(0.5))} | ${ms(phaseB.percentile(0.5))} | ${ratio(phaseA.percentile(0.5), phaseB.percentile(0.5))} |`,
    `| p99 latency | ${ms(phaseA.percentile(0.99))} | ${ms(phaseB.percentile(0.99))} | ${ratio(phaseA.percentile(0.99), phaseB.percentile(0.99))} |`,
    `| server RSS at start | ${mib(a?.rssStart)} | ${mib(b?.rssStart)} | |`,
    `| server RSS peak | ${mib(a?.rssPeak)} | ${mib(b?.rssPeak)} | |`,
    `| server RSS at end | ${mib(a?.rssEnd)} | ${mib(b?.rssEnd)} | |`,
    `| server RSS every second (MiB) | ${everySecond(a)} | ${everySecond(b)} | |`,
    `| server event-loop delay p99 / max | ${ms(a?.loopDelayP99 ?? Number.NaN)} / ${ms(a?.loopDelayMax ?? Number.NaN)} | ${ms(b?.loopDelayP99 ?? Number.NaN)} / ${ms(b?.loopDelayMax ?? Number.NaN)} | |`,
    "",
    `Deliveries lost by the healthy clients: ${lost} of ${results.published * results.delivered.length}${results.errors.length ? ` (client errors: ${results.errors.join("; ")})` : ""}. Server RSS once the slow clients had read to their end and left, after a full GC: ${mib(results.finalStats.rss)}.`,
    "",
    "| slow client | cut off after | most queued in the server | server side ended | client saw |",
    "| --- | ---: | ---: | --- | --- |",
    ...results.finalStats.slow.map((client) => {
      const cut = client.cutAt === undefined ? "not cut" : ms(client.cutAt - client.subscribedAt);
      const end =
        client.end === undefined
          ? "open"
          : `${client.end} after ${ms((client.endedAt ?? 0) - client.subscribedAt)}`;
      return `| ${client.kind} ${client.name} | ${cut} | ${(client.peakQueuedBytes / 1024).toFixed(0)} KiB | ${end} | ${results.clientEnds.get(client.name) ?? "?"} |`;
    }),
    "",
    "Times are from the moment the server subscribed the client (it never read anything).",
  ];
  console.log(lines.join("\n"));
}

function everySecond(phase: IsolationStats["phases"][number] | undefined): string {
  return phase ? phase.rssEverySecond.map((rss) => (rss / MiB).toFixed(0)).join(" ") : "-";
}

async function stats(base: string): Promise<IsolationStats> {
  const response = await fetch(`${base}/stats`);
  return (await response.json()) as IsolationStats;
}

async function post(base: string, path: string): Promise<unknown> {
  const response = await fetch(`${base}${path}`, { method: "POST" });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once `check()` is true (asked every 50 ms); rejects after `timeout` ms. */
async function until(check: () => Promise<boolean>, what: string, timeout = 10_000) {
  const deadline = performance.now() + timeout;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The promise's value, or undefined after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

await main();
