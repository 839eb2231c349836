import type { BenchConfig } from "../config.js";
import type { FreshPeers } from "../lib/fresh-peers.js";
import { dialectOf, type RunningPeer, serving } from "../lib/peers.js";
import {
  count,
  type DeliveryMetricNames,
  deliveryMetrics,
  deliverySample,
  measureTargets,
  type ScenarioResult,
  targetsOn,
} from "../lib/scenario.js";
import { runWsBroadcast, runWsEcho } from "../lib/ws-load.js";

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
  "README shows (`noServer` + `handleUpgrade`); sluice uses `app.websocket()`; Fastify",
  "@fastify/websocket, Hono @hono/node-ws, socket.io its WebSocket transport only (namespaces",
  "/echo and /broadcast, EVENT packets). The load generator runs `ws` clients (no",
  "permessage-deflate offered, so no server compresses), the same code for every server (for",
  "socket.io it also wraps and unwraps the packets and answers pings). Echo: each client sends",
  "a ~60-byte text message, waits for it to come back (checked: text, same length and `seq`),",
  "sends the next; latency is the round trip. Fan-out: one producer per server process sends",
  "the same small JSON message (stringified or prepared once per message) to every client, in",
  "bursts; latency is receipt − the publish time the message carries. As fast as delivered",
  "(full runs only), the producer publishes one message per event-loop turn and, the same rule",
  "for all, waits while a client has over 64 KiB `bufferedAmount`. A run fails unless every",
  "client received every published message in order (each carries its `seq`) and the server",
  "let go of every client once they closed.",
];

/** (c) echo, (b) fan-out in bursts; in a full run also a fan-out as fast as delivered. */
export async function wsScenarios(
  config: BenchConfig,
  fresh: FreshPeers,
): Promise<ScenarioResult[]> {
  const { broadcastClients, rate, burst } = config.ws;
  const who = `${count(broadcastClients)} clients`;
  const bursts = `${count(rate)} msg/s in bursts of ${burst}`;
  const scenarios = [
    await fresh("ws", (peers) =>
      broadcastScenario(config, peers, "b", rate, `WS fan-out, ${who}, ${bursts}`),
    ),
    await fresh("ws", (peers) => echoScenario(config, peers)),
  ];
  if (!config.quick) {
    const title = `WS fan-out, ${who}, as fast as delivered`;
    scenarios.push(await fresh("ws", (peers) => broadcastScenario(config, peers, "b+", 0, title)));
  }
  return scenarios;
}

async function echoScenario(
  config: BenchConfig,
  peers: readonly RunningPeer[],
): Promise<ScenarioResult> {
  const { echoClients, warmupMs, durationMs } = config.ws;
  const title = `WS echo, ${echoClients} clients, one message in flight each`;
  console.error(`(c) ${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const results = await measureTargets(
    targetsOn(serving(peers, "ws", "c"), () => "/ws/echo"),
    config.runs,
    async ({ peer, path }) => {
      const { port, pid } = peer.server;
      const { messages, writeCalls, window, latency } = await runWsEcho({
        port,
        pid,
        path,
        clients: echoClients,
        warmupMs,
        durationMs,
        dialect: dialectOf(peer, path),
      });
      return deliverySample(ECHO, messages, writeCalls, window, latency);
    },
    (sample) =>
      `${Math.round(sample[ECHO.rate])} round trips/s, ${sample[ECHO.cpu].toFixed(2)} µs CPU/round trip`,
  );
  const metrics = deliveryMetrics(ECHO);
  return { id: "c", title, headline: ECHO.rate, metrics, main: metrics[0], results, notes: NOTES };
}

async function broadcastScenario(
  config: BenchConfig,
  peers: readonly RunningPeer[],
  id: string,
  rate: number,
  title: string,
): Promise<ScenarioResult> {
  const { broadcastClients, warmupMs, durationMs, burst } = config.ws;
  console.error(`(${id}) ${title}: ${warmupMs} ms warm-up + ${durationMs} ms, ${config.runs} runs`);
  const results = await measureTargets(
    targetsOn(serving(peers, "ws", id), () => "/ws/broadcast"),
    config.runs,
    async ({ peer, path }) => {
      const { port, pid } = peer.server;
      const { messages, writeCalls, window, latency } = await runWsBroadcast({
        port,
        pid,
        path,
        clients: broadcastClients,
        rate,
        burst: rate > 0 ? burst : 1,
        warmupMs,
        durationMs,
        dialect: dialectOf(peer, path),
      });
      return deliverySample(BROADCAST, messages, writeCalls, window, latency);
    },
    (sample) =>
      `${Math.round(sample[BROADCAST.rate])} deliveries/s, ${sample[BROADCAST.cpu].toFixed(2)} µs CPU/delivery`,
  );
  const metrics = deliveryMetrics(BROADCAST);
  const main = metrics[rate > 0 ? 1 : 0];
  return { id, title, headline: BROADCAST.rate, metrics, main, results, notes: NOTES };
}
