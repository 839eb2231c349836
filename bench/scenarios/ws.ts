import type { BenchConfig } from "../config.js";
import {
  type DeliveryMetricNames,
  deliveryMetrics,
  deliverySample,
  measureTargets,
  type ScenarioResult,
  type Target,
} from "../lib/scenario.js";
import type { ServerProcess } from "../lib/servers.js";
import { runWsBroadcast, runWsEcho } from "../lib/ws-load.js";

const BASELINE = "ws on node:http";

const ECHO: DeliveryMetricNames = {
  rate: "round trips/s",
  cpu: "server CPU µs/round trip",
  writes: "server writes/round trip",
};
const BROADCAST: DeliveryMetricNames = {
  rate: "deliveries/s",
  cpu: "server CPU µs/delivery",
  writes: "server writes/delivery",
};

const NOTES = [
  "WebSocket: the node:http column is the `ws` package on node:http, written by hand as its",
  "README shows (`noServer` + `handleUpgrade`); sluice uses `app.websocket()`. The load",
  "generator runs `ws` clients (no permessage-deflate offered, so neither server compresses).",
  "Echo: each client sends a ~60-byte text message, waits for it to come back (checked: text,",
  "same length and `seq`), sends the next; `ws` answers `ws.send(data, { binary: isBinary })`,",
  "sluice `for await (const message of socket) await socket.send(message)`. Broadcast: one",
  "producer per server process sends the same small JSON message to every client (`ws`:",
  "stringified once, `client.send(text)` per client; sluice: one `WebSocketMessage.json()`,",
  "`socket.send(message)` per socket). At a fixed rate both keep up and CPU per delivery",
  "compares the fan-out's cost; as fast as delivered, the producer publishes one message per",
  "event-loop turn and, the same rule for both, waits while a client has over 64 KiB",
  "`bufferedAmount` (looked at again every ms). Deliveries count the messages all clients",
  "received; CPU and write system calls are per round trip or delivery. A run fails unless",
  "every client received every published message in order (each carries its `seq`) and the",
  "server let go of every client once they closed.",
];

/** WebSocket echo (closed loop) and broadcast, at a fixed rate and as fast as delivered. */
export async function wsScenarios(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
): Promise<ScenarioResult[]> {
  const { broadcastClients, rate } = config.ws;
  const who = `${broadcastClients.toLocaleString("en-US")} clients`;
  return [
    await echoScenario(config, baseline, sluice),
    await broadcastScenario(config, baseline, sluice, rate, `WS broadcast, ${who}, ${rate} msg/s`),
    await broadcastScenario(
      config,
      baseline,
      sluice,
      0,
      `WS broadcast, ${who}, published as fast as delivered`,
    ),
  ];
}

async function echoScenario(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
): Promise<ScenarioResult> {
  const { echoClients, warmupMs, durationMs } = config.ws;
  const title = `WS echo, ${echoClients} clients, one message in flight each`;
  console.error(`${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const results = await measureTargets(
    targets(baseline, sluice, "/ws/echo"),
    config.runs,
    async ({ server, path }) => {
      const options = { port: server.port, pid: server.pid, path, clients: echoClients };
      const { messages, writeCalls, window } = await runWsEcho({
        ...options,
        warmupMs,
        durationMs,
      });
      return deliverySample(ECHO, messages, writeCalls, window);
    },
    (sample) =>
      `${Math.round(sample["round trips/s"])} round trips/s, ${sample["server CPU µs/round trip"].toFixed(2)} µs CPU/round trip`,
  );
  const metrics = deliveryMetrics(ECHO);
  return { title, headline: ECHO.rate, metrics, results, notes: NOTES };
}

async function broadcastScenario(
  config: BenchConfig,
  baseline: ServerProcess,
  sluice: ServerProcess,
  rate: number,
  title: string,
): Promise<ScenarioResult> {
  const { broadcastClients, warmupMs, durationMs } = config.ws;
  console.error(`${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const results = await measureTargets(
    targets(baseline, sluice, "/ws/broadcast"),
    config.runs,
    async ({ server, path }) => {
      const options = { port: server.port, pid: server.pid, path, clients: broadcastClients };
      const { messages, writeCalls, window } = await runWsBroadcast({
        ...options,
        rate,
        warmupMs,
        durationMs,
      });
      return deliverySample(BROADCAST, messages, writeCalls, window);
    },
    (sample) =>
      `${Math.round(sample["deliveries/s"])} deliveries/s, ${sample["server CPU µs/delivery"].toFixed(2)} µs CPU/delivery`,
  );
  const metrics = deliveryMetrics(BROADCAST);
  return { title, headline: BROADCAST.rate, metrics, results, notes: NOTES };
}

function targets(baseline: ServerProcess, sluice: ServerProcess, path: string): Target[] {
  return [
    { label: BASELINE, server: baseline, path },
    { label: "sluice", server: sluice, path },
  ];
}
