import { setTimeout as sleep } from "node:timers/promises";
import { answerParent } from "./lib/answer-parent.js";
import { DeliveryCheck } from "./lib/delivery-check.js";
import { addCheck, noDeliveries } from "./lib/delivery-counts.js";
import { type OpenConnection, openH2Connection, openHttp1Stream } from "./lib/h2-fanout-streams.js";
import type { PoolAnswer, PoolCommand, StreamsReport } from "./lib/h2-subscriber-pool.js";
import { LatencyHistogram } from "./lib/latency-histogram.js";

/*
 * One subscriber process of bench/h2-fanout.ts (forked, IPC): opens the connections and
 * streams it is told to, checks every event each stream receives (DeliveryCheck) and answers
 * the parent's commands (bench/lib/h2-subscriber-pool.ts).
 */

/** Connections opened at once: more could overflow the server's accept backlog (511). */
const CONNECT_BATCH = 100;
const MAX_ERRORS_REPORTED = 3;

let connections: OpenConnection[] = [];
let checks: DeliveryCheck[] = [];
let latency = new LatencyHistogram();

async function connect(command: Extract<PoolCommand, { type: "connect" }>): Promise<number> {
  const { target, carrier } = command;
  const perConnection = carrier.kind === "h2" ? carrier.streamsPerConnection : 1;
  const batch = Math.max(1, Math.floor(CONNECT_BATCH / perConnection));
  for (let opened = 0; opened < command.connections; opened += batch) {
    const count = Math.min(batch, command.connections - opened);
    const opening = Array.from({ length: count }, () => {
      const streams = Array.from({ length: perConnection }, () => new DeliveryCheck(latency));
      checks.push(...streams);
      return carrier.kind === "h2"
        ? openH2Connection(target, streams)
        : openHttp1Stream(target, streams[0]);
    });
    connections.push(...(await Promise.all(opening)));
  }
  return checks.length;
}

function received(): number {
  let total = 0;
  for (const check of checks) total += check.received;
  return total;
}

async function finish(published: number, timeoutMs: number): Promise<StreamsReport> {
  const deadline = performance.now() + timeoutMs;
  const failed = () => connections.some((connection) => connection.errors.length > 0);
  while (checks.some((check) => !check.hasAll(published)) && !failed()) {
    if (performance.now() > deadline) break;
    await sleep(20);
  }
  const report: StreamsReport = { streams: checks.length, ...noDeliveries(latency.sparse()) };
  for (const check of checks) {
    check.finish(published);
    addCheck(report, check);
  }
  for (const connection of connections) {
    for (const error of connection.errors)
      if (report.errors.length < MAX_ERRORS_REPORTED) report.errors.push(error);
    connection.close();
  }
  connections = [];
  checks = [];
  latency = new LatencyHistogram();
  return report;
}

async function answer(command: PoolCommand): Promise<PoolAnswer> {
  switch (command.type) {
    case "connect":
      return { type: "connected", streams: await connect(command) };
    case "window-start":
      latency.recording = true;
      return { type: "received", received: received() };
    case "window-end":
      latency.recording = false;
      return { type: "received", received: received() };
    case "finish":
      return { type: "finished", report: await finish(command.published, command.timeoutMs) };
  }
}

answerParent(answer);
