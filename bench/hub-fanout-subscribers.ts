import { setTimeout as sleep } from "node:timers/promises";
import { answerParent } from "./lib/answer-parent.js";
import { DeliveryCheck } from "./lib/delivery-check.js";
import { addCheck, noDeliveries } from "./lib/delivery-counts.js";
import { LatencyHistogram } from "./lib/latency-histogram.js";
import { RealtimeSseSubscriber } from "./lib/realtime-sse-subscriber.js";
import { RealtimeWsSubscriber } from "./lib/realtime-ws-subscriber.js";
import type {
  SubscriberAnswer,
  SubscriberCommand,
  SubscribersReport,
  Transport,
  TransportReport,
} from "./lib/subscriber-protocol.js";

/*
 * One subscriber process of bench/hub-fanout.ts (forked, IPC): opens the SSE and WebSocket
 * subscribers it is told to, checks every message they receive (DeliveryCheck) and answers the
 * parent's commands (bench/lib/subscriber-protocol.ts). A few processes share the subscribers
 * so that none holds more sockets than the default soft limit of 1 024 open files allows.
 */

/** Connections opened at once: more could overflow the server's accept backlog (511). */
const CONNECT_BATCH = 100;
const MAX_ERRORS_REPORTED = 3;

interface Subscriber {
  error: Error | undefined;
  close(): void;
}

interface Group {
  subscribers: Subscriber[];
  checks: DeliveryCheck[];
  latency: LatencyHistogram;
}

const groups: Record<Transport, Group> = { sse: newGroup(), ws: newGroup() };

function newGroup(): Group {
  return { subscribers: [], checks: [], latency: new LatencyHistogram() };
}

async function connect(command: Extract<SubscriberCommand, { type: "connect" }>): Promise<void> {
  const { port, path, topic } = command;
  const ssePath = `${path}?topic=${encodeURIComponent(topic)}`;
  await openAll(groups.sse, command.sse, async (check) => {
    const subscriber = await RealtimeSseSubscriber.open(port, ssePath, check);
    await subscriber.ready;
    if (subscriber.error) throw subscriber.error;
    return subscriber;
  });
  await openAll(groups.ws, command.ws, (check) =>
    RealtimeWsSubscriber.open(port, path, topic, check),
  );
}

async function openAll(
  group: Group,
  count: number,
  open: (check: DeliveryCheck) => Promise<Subscriber>,
): Promise<void> {
  while (group.subscribers.length < count) {
    const batch = Math.min(CONNECT_BATCH, count - group.subscribers.length);
    const checks = Array.from({ length: batch }, () => new DeliveryCheck(group.latency));
    group.subscribers.push(...(await Promise.all(checks.map(open))));
    group.checks.push(...checks);
  }
}

function received(): number {
  let total = 0;
  for (const group of Object.values(groups))
    for (const check of group.checks) total += check.received;
  return total;
}

function record(on: boolean): void {
  for (const group of Object.values(groups)) group.latency.recording = on;
}

/** Waits (bounded) for every live subscriber to have `published` messages, then reports. */
async function finish(published: number, timeoutMs: number): Promise<SubscribersReport> {
  const deadline = performance.now() + timeoutMs;
  const behind = () =>
    Object.values(groups).some((group) =>
      group.checks.some((check, i) => !check.hasAll(published) && !group.subscribers[i].error),
    );
  while (behind() && performance.now() < deadline) await sleep(20);
  const report = { sse: reportOf(groups.sse, published), ws: reportOf(groups.ws, published) };
  for (const group of Object.values(groups)) {
    for (const subscriber of group.subscribers) subscriber.close();
    Object.assign(group, newGroup());
  }
  return report;
}

function reportOf(group: Group, published: number): TransportReport {
  const report: TransportReport = {
    subscribers: group.subscribers.length,
    ...noDeliveries(group.latency.sparse()),
  };
  for (const [i, check] of group.checks.entries()) {
    check.finish(published);
    addCheck(report, check);
    const error = group.subscribers[i].error;
    if (error && report.errors.length < MAX_ERRORS_REPORTED) report.errors.push(error.message);
  }
  return report;
}

async function answer(command: SubscriberCommand): Promise<SubscriberAnswer> {
  switch (command.type) {
    case "connect":
      await connect(command);
      return { type: "connected" };
    case "window-start":
      record(true);
      return { type: "received", received: received() };
    case "window-end":
      record(false);
      return { type: "received", received: received() };
    case "finish":
      return { type: "finished", report: await finish(command.published, command.timeoutMs) };
  }
}

answerParent(answer);
