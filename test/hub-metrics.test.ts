// The hub's GET /metrics (src/hub/hub-metrics.ts): Prometheus text that `promtool check
// metrics` accepts, whose values are what a real hub process did; prometheusText() adding up
// one sample per worker; createHub's own metrics source, and one that fails.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, type TestContext, test } from "node:test";
import { createHub } from "../src/hub/hub.js";
import { PROMETHEUS_TEXT, prometheusText } from "../src/hub/hub-metrics.js";
import type { HubOptions } from "../src/hub/hub-options.js";
import type { AppMetrics, ListeningServer } from "../src/index.js";
import { HubProcess } from "./support/hub-process.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { SseClient } from "./support/sse-client.js";
import { waitFor } from "./support/wait.js";

const KEY = "metrics-publish-key-0123456789";

/**
 * `promtool check metrics` on `text`: undefined when it accepts it (exit 0, no lint), else
 * what it said. promtool comes with Debian's `prometheus` package (scripts/test-setup.sh).
 */
function promtoolProblems(t: TestContext, text: string): string | undefined | "skipped" {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (run.error) {
    const why =
      "promtool is not installed: apt-get install prometheus (Debian's package ships it; npm test installs it as root)";
    if (process.env.CI === "true") assert.fail(why);
    t.skip(why);
    return "skipped";
  }
  const said = `${run.stdout}${run.stderr}`.trim();
  return run.status === 0 && said === "" ? undefined : `exit ${run.status}: ${said}`;
}

/** Every sample line of Prometheus text, by its name and labels as written. */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function metricsOf(base: string): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${base}/metrics`);
  return { response, text: await response.text() };
}

async function publish(base: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

describe("GET /metrics on a real hub process", () => {
  let hub: HubProcess;
  before(async () => {
    hub = await HubProcess.start(["--host", "127.0.0.1", "--port", "0", "--publish-key", KEY]);
  });
  after(() => hub?.kill());

  test("answers Prometheus text (0.0.4) that promtool accepts, all zeros at start, open like /healthz", async (t) => {
    const { response, text } = await metricsOf(hub.url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), PROMETHEUS_TEXT);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const problems = promtoolProblems(t, text);
    if (problems !== "skipped") assert.equal(problems, undefined, text);
    const samples = samplesOf(text);
    for (const name of [
      'sluice_connections{transport="websocket"}',
      'sluice_connections{transport="sse"}',
      "sluice_messages_published_total",
      'sluice_messages_delivered_total{transport="websocket"}',
      'sluice_messages_delivered_total{transport="sse"}',
      "sluice_slow_consumer_cutoffs_total",
      "sluice_broker_reconnects_total",
      "sluice_topic_subscribers",
    ]) {
      assert.equal(samples.get(name), 0, name);
    }
    assert.match(text, /^# TYPE sluice_connections gauge$/m);
    assert.match(text, /^# TYPE sluice_messages_published_total counter$/m);
    assert.ok((samples.get("process_resident_memory_bytes") ?? 0) > 1024 * 1024);
    assert.ok((samples.get("process_cpu_seconds_total") ?? 0) > 0);
    const started = samples.get("process_start_time_seconds") ?? 0;
    assert.ok(Math.abs(started - Date.now() / 1000) < 300, `started at ${started}`);
  });

  test("counts what the test did: subscribers by transport, publishes and batches, deliveries", async (t) => {
    const sse = new SseClient(`${hub.url}/rt?topic=news`);
    await waitFor(() => sse.responded, "the SSE subscriber live", 5000);
    const peer = await RealtimePeer.connect(hub.ws("/rt"));
    assert.equal((await peer.request({ type: "subscribe", topic: "news" })).ok, true);
    await publish(hub.url, "/publish", { topic: "news", data: { n: 1 } });
    await publish(hub.url, "/publish/batch", {
      messages: [
        { topic: "news", data: { n: 2 } },
        { topic: "news", data: { n: 3 } },
      ],
    });
    await peer.waitForMessages("news", 3);
    await waitFor(() => sse.events.filter((event) => event.data !== "").length === 3, "3 events");
    const { text } = await metricsOf(hub.url);
    const problems = promtoolProblems(t, text);
    if (problems !== "skipped") assert.equal(problems, undefined, text);
    const samples = samplesOf(text);
    assert.deepEqual(
      {
        websocket: samples.get('sluice_connections{transport="websocket"}'),
        sse: samples.get('sluice_connections{transport="sse"}'),
        subscribers: samples.get("sluice_topic_subscribers"),
        published: samples.get("sluice_messages_published_total"),
        deliveredWebSocket: samples.get('sluice_messages_delivered_total{transport="websocket"}'),
        deliveredSse: samples.get('sluice_messages_delivered_total{transport="sse"}'),
        cutoffs: samples.get("sluice_slow_consumer_cutoffs_total"),
        reconnects: samples.get("sluice_broker_reconnects_total"),
      },
      {
        websocket: 1,
        sse: 1,
        subscribers: 2,
        published: 3,
        deliveredWebSocket: 3,
        deliveredSse: 3,
        cutoffs: 0,
        reconnects: 0,
      },
    );
    sse.close();
    await peer.close();
  });
});

/** A sample as a worker would send it, with the counts given and the rest zero. */
function sample(counts: number, process: AppMetrics["process"]): AppMetrics {
  return {
    connections: { websocket: counts, sse: 2 * counts },
    published: 3 * counts,
    delivered: { websocket: 4 * counts, sse: 5 * counts },
    slowConsumerCutoffs: 6 * counts,
    brokerReconnects: 7 * counts,
    topicSubscribers: 8 * counts,
    process,
  };
}

describe("prometheusText()", () => {
  test("adds up one sample per worker: counters, gauges and process figures; the oldest start time", (t) => {
    const text = prometheusText([
      sample(1, { residentMemoryBytes: 100, cpuSeconds: 1.5, startTimeSeconds: 2000 }),
      sample(10, { residentMemoryBytes: 50, cpuSeconds: 0.25, startTimeSeconds: 1000 }),
    ]);
    const problems = promtoolProblems(t, text);
    if (problems !== "skipped") assert.equal(problems, undefined, text);
    assert.deepEqual(Object.fromEntries(samplesOf(text)), {
      'sluice_connections{transport="websocket"}': 11,
      'sluice_connections{transport="sse"}': 22,
      sluice_topic_subscribers: 88,
      sluice_messages_published_total: 33,
      'sluice_messages_delivered_total{transport="websocket"}': 44,
      'sluice_messages_delivered_total{transport="sse"}': 55,
      sluice_slow_consumer_cutoffs_total: 66,
      sluice_broker_reconnects_total: 77,
      process_resident_memory_bytes: 150,
      process_cpu_seconds_total: 1.75,
      process_start_time_seconds: 1000,
    });
  });

  test("no samples: zeros, and no start time", (t) => {
    const text = prometheusText([]);
    const problems = promtoolProblems(t, text);
    if (problems !== "skipped") assert.equal(problems, undefined, text);
    assert.equal(samplesOf(text).get("sluice_messages_published_total"), 0);
    assert.doesNotMatch(text, /process_start_time_seconds/);
  });
});

describe("createHub(options, { metrics })", () => {
  process.env.LOG_LEVEL = "silent";
  const options: HubOptions = {
    port: 0,
    host: "127.0.0.1",
    redis: undefined,
    history: 100,
    jwt: undefined,
    publishKeys: [KEY],
    corsOrigins: [],
    topics: ["*"],
    maxConnections: undefined,
    maxConnectionsPerIp: undefined,
    clientIpHeader: undefined,
    workers: 1,
    maxBody: 4096,
    publishRate: { burst: 100, perSecond: 100 },
  };
  const servers: ListeningServer[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));
  const start = async (metrics?: () => Promise<readonly AppMetrics[]>) => {
    const server = await createHub(options, { metrics }).listen({ port: 0, host: "127.0.0.1" });
    servers.push(server);
    return server.url;
  };

  test("reports the samples its source gives (the cluster's workers), added up", async () => {
    const process = { residentMemoryBytes: 1, cpuSeconds: 1, startTimeSeconds: 1 };
    const base = await start(async () => [sample(1, process), sample(2, process)]);
    const samples = samplesOf((await metricsOf(base)).text);
    assert.equal(samples.get("sluice_messages_published_total"), 9);
    assert.equal(samples.get("process_resident_memory_bytes"), 2);
  });

  test("a source that fails is a 503 problem, nothing of its error sent", async () => {
    const base = await start(async () => {
      throw new Error("worker 3 did not answer (secret detail)");
    });
    const { response, text } = await metricsOf(base);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    assert.equal(response.headers.get("retry-after"), "1");
    const problem = JSON.parse(text) as Record<string, unknown>;
    assert.equal(problem.status, 503);
    assert.match(String(problem.detail), /could not be gathered/);
    assert.doesNotMatch(text, /secret detail/);
  });

  test("without a source: the hub's own App, whose publishes it counts", async () => {
    const base = await start();
    await publish(base, "/publish", { topic: "news", data: 1 });
    const samples = samplesOf((await metricsOf(base)).text);
    assert.equal(samples.get("sluice_messages_published_total"), 1);
  });
});
