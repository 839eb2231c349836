import { Broadcaster } from "./broadcaster.js";
import { Producer } from "./producer.js";
import { announceReady } from "./ready.js";
import { asyncRows, jsonPayload, rowCount, syncRows } from "./rows.js";
import { publishRate, sseData } from "./sse-events.js";

type Sluice = typeof import("../../src/index.js");

// BENCH_SLUICE_DIST=1 (bench/run.ts --dist) loads the tsc build (`npm run build`) instead of
// the sources through tsx, whose esbuild transform adds a __name() call per closure created.
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App, SseEvent, ndjson } = (await import(entry)) as Sluice;

const app = new App({ logger: false });

app.get("/json", () => jsonPayload());
app.get("/ndjson/sync", (request) => ndjson(syncRows(rowCount(request.query))));
app.get("/ndjson/async", (request) => ndjson(asyncRows(rowCount(request.query))));

// One SseEvent per published event, handed to every client: encoded once, not per client.
const events = new Broadcaster<InstanceType<Sluice["SseEvent"]>>();
const producer = new Producer((seq) =>
  events.publish(new SseEvent({ id: seq, data: sseData(seq) })),
);
app.sse("/sse", { keepAlive: 15_000 }, (request) => events.subscribe(request.signal));
app.get("/sse/clients", () => ({ clients: events.size }));
app.post("/sse/start", (request) => producer.start(publishRate(request.query)));
app.post("/sse/stop", () => ({ published: producer.stop() }));

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
