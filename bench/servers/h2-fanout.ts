import { createInterface } from "node:readline";
import { Broadcaster } from "./broadcaster.js";
import { Producer } from "./producer.js";
import { sseData } from "./sse-events.js";
import { broadcastData } from "./ws-messages.js";

/*
 * The server of bench/h2-fanout.ts: one App, one protocol per process, two fan-outs.
 * - `/sse`: an `app.sse` route whose every stream is an `app.subscribe()` of one topic;
 *   events are published with `app.publish()` (the memory broker fans them out).
 * - `/ndjson`: an `ndjson()` streaming response per client, fed by a Broadcaster (one queue
 *   per client, as application code would write it), one JSON line per event.
 * BENCH_H2_PROTOCOL says what `listen()` serves: "http1" (cleartext HTTP/1.1), "https"
 * (`tls` alone), "h2" (`http2: true` with `tls`, HTTP/1.1 on the same port) or "h2c"
 * (`http2: "cleartext"`); BENCH_TLS_KEY / BENCH_TLS_CERT hold the PEM key and certificate.
 *
 * Commands come as JSON lines on stdin, not over HTTP: an h2c port cannot answer an HTTP/1.1
 * request, and a control request would be counted in the server's CPU as another protocol's.
 * Each is answered with one JSON line on stdout, after the `{"port":…}` line.
 */
type Sluice = typeof import("../../src/index.js");
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App, ndjson } = (await import(entry)) as Sluice;

type Command =
  | { cmd: "start"; shape: "sse" | "ndjson"; rate: number }
  | { cmd: "stop" | "streams" };

const TOPIC = "bench-h2";
/** Far above what a run at a fixed rate queues: no stream is cut off as slow. */
const MAX_QUEUED = 100_000;

const app = new App({ logger: false });

app.sse("/sse", { keepAlive: 15_000 }, (request) =>
  app.subscribe(TOPIC, { signal: request.signal, maxQueued: MAX_QUEUED }),
);
const sseProducer = new Producer((seq) => {
  app.publish(TOPIC, sseData(seq)).catch((error: unknown) => console.error(error));
  return undefined;
});

const lines = new Broadcaster<ReturnType<typeof broadcastData>>();
app.get("/ndjson", (request) => ndjson(lines.subscribe(request.signal)));
// At a fixed rate a client that is behind is not waited for (its queue grows instead).
const ndjsonProducer = new Producer((seq) => {
  lines.publish(broadcastData(seq));
  return undefined;
});

const producers = { sse: sseProducer, ndjson: ndjsonProducer };

function answer(command: Command): unknown {
  switch (command.cmd) {
    case "start":
      producers[command.shape].start({ rate: command.rate, burst: 1 });
      return { started: true };
    case "stop":
      return { published: Math.max(sseProducer.stop(), ndjsonProducer.stop()) };
    case "streams":
      // SSE streams count once their head is out (the subscription is live by then);
      // an NDJSON client once its generator runs, i.e. it is in the Broadcaster.
      return { sse: app.connections.sse, ndjson: lines.size };
  }
}

function listenOptions() {
  const protocol = process.env.BENCH_H2_PROTOCOL ?? "http1";
  const base = { port: 0, host: "127.0.0.1" };
  if (protocol === "http1") return base;
  if (protocol === "h2c") return { ...base, http2: "cleartext" as const };
  const tls = { key: process.env.BENCH_TLS_KEY ?? "", cert: process.env.BENCH_TLS_CERT ?? "" };
  if (protocol === "https") return { ...base, tls };
  if (protocol === "h2") return { ...base, tls, http2: true as const };
  throw new Error(`BENCH_H2_PROTOCOL: unknown protocol ${protocol}`);
}

const { port } = await app.listen(listenOptions());
process.stdout.write(`${JSON.stringify({ port })}\n`);

const exit = () => process.exit(0); // process.exit lets --cpu-prof write its profile
process.once("SIGTERM", exit);
process.once("SIGINT", exit);
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  process.stdout.write(`${JSON.stringify(answer(JSON.parse(line) as Command))}\n`);
});
input.once("close", exit); // the parent went away
