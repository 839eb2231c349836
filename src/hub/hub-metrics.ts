import type { AppMetrics } from "../app/app-metrics.js";
import { HttpResponse } from "../http/http-response.js";
import type { SluiceRequest } from "../http/request.js";
import { HubProblem, problemResponse } from "./hub-problem.js";

/** The media type of the Prometheus text exposition format, version 0.0.4. */
export const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Where `GET /metrics` gets its samples: one AppMetrics per instance it reports for (one per
 * cluster worker; by default the hub's own App alone).
 */
export type MetricsSource = () => Promise<readonly AppMetrics[]>;

type Kind = "counter" | "gauge";

/** One metric family: its name, help, type, and its samples' values (by label, or alone). */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly values: readonly (readonly [labels: string, value: number])[];
}

/**
 * The samples as Prometheus text (exposition format 0.0.4), with HELP and TYPE lines: one
 * sample per instance, added up (counters and gauges alike, process memory and CPU too; the
 * process start time is the oldest instance's). No samples: zeros, and no start time.
 */
export function prometheusText(samples: readonly AppMetrics[]): string {
  const total = (read: (sample: AppMetrics) => number): number =>
    samples.reduce((sum, sample) => sum + read(sample), 0);
  const byTransport = (read: (sample: AppMetrics) => { websocket: number; sse: number }) =>
    [
      ['transport="websocket"', total((sample) => read(sample).websocket)],
      ['transport="sse"', total((sample) => read(sample).sse)],
    ] as const;
  const families: Family[] = [
    {
      name: "sluice_connections",
      help: "Long-lived connections open now, by transport (WebSocket connections, SSE streams).",
      kind: "gauge",
      values: byTransport((sample) => sample.connections),
    },
    {
      name: "sluice_topic_subscribers",
      help: "Local topic subscriptions open now, across topics.",
      kind: "gauge",
      values: [["", total((sample) => sample.topicSubscribers)]],
    },
    {
      name: "sluice_messages_published_total",
      help: "Messages published (publish API, real-time publish frames, app.publish); a batch of n counts n.",
      kind: "counter",
      values: [["", total((sample) => sample.published)]],
    },
    {
      name: "sluice_messages_delivered_total",
      help: "Topic messages handed to a subscriber, one per subscriber per message, by transport.",
      kind: "counter",
      values: byTransport((sample) => sample.delivered),
    },
    {
      name: "sluice_slow_consumer_cutoffs_total",
      help: "Subscribers and connections cut off for falling behind (they resume from their last id).",
      kind: "counter",
      values: [["", total((sample) => sample.slowConsumerCutoffs)]],
    },
    {
      name: "sluice_broker_reconnects_total",
      help: "Times the broker's connection came back after being lost.",
      kind: "counter",
      values: [["", total((sample) => sample.brokerReconnects)]],
    },
    {
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
      kind: "gauge",
      values: [["", total((sample) => sample.process.residentMemoryBytes)]],
    },
    {
      name: "process_cpu_seconds_total",
      help: "Total user and system CPU time spent in seconds.",
      kind: "counter",
      values: [["", total((sample) => sample.process.cpuSeconds)]],
    },
  ];
  if (samples.length > 0) {
    families.push({
      name: "process_start_time_seconds",
      help: "Start time of the process since unix epoch in seconds.",
      kind: "gauge",
      values: [["", Math.min(...samples.map((sample) => sample.process.startTimeSeconds))]],
    });
  }
  return families.map(familyText).join("");
}

function familyText({ name, help, kind, values }: Family): string {
  let text = `# HELP ${name} ${help}\n# TYPE ${name} ${kind}\n`;
  for (const [labels, value] of values) {
    text += `${name}${labels === "" ? "" : `{${labels}}`} ${value}\n`;
  }
  return text;
}

/**
 * `GET /metrics`: the source's samples as Prometheus text, never cached. A source that fails
 * (a worker that does not answer) is a 503 problem, its error logged.
 */
export function metricsRoute(source: MetricsSource) {
  return async (request: SluiceRequest): Promise<HttpResponse> => {
    let samples: readonly AppMetrics[];
    try {
      samples = await source();
    } catch (error) {
      const detail = "The metrics could not be gathered; try again";
      return problemResponse(
        new HubProblem(503, detail, {}, { "retry-after": "1" }, error),
        request,
      );
    }
    return HttpResponse.text(prometheusText(samples), {
      headers: { "content-type": PROMETHEUS_TEXT, "cache-control": "no-store" },
    });
  };
}
