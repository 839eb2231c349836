import { setTimeout as sleep } from "node:timers/promises";
import { answerParent } from "./lib/answer-parent.js";
import type { ScaleAnswer, ScaleCommand, ScaleKind, ScaleReport } from "./lib/scale-protocol.js";
import { ScaleSseSubscriber } from "./lib/scale-sse-subscriber.js";
import { BroadcastClient } from "./lib/ws-client.js";
import { plainWebSocket } from "./lib/ws-dialect.js";

/*
 * One subscriber process of bench/scale-curve.ts (forked, IPC): opens the SSE or WebSocket
 * subscribers it is told to, at a bounded rate, checks every event they receive and answers
 * the parent's commands (bench/lib/scale-protocol.ts). It holds at most 500 connections
 * (bench/lib/subscriber-processes.ts), under the default soft limit of 1 024 open files.
 */

/** How often the opening loop looks at what is due, in ms. */
const CONNECT_TICK_MS = 10;
const MAX_PROBLEMS = 3;

/** What both kinds of subscriber give the process: events since the last reset, each checked. */
interface Subscriber {
  readonly received: number;
  readonly error: Error | undefined;
  /** Whether it received exactly events 0 to `published` − 1, each once. */
  hasExactly(published: number): boolean;
  reset(): void;
  close(): void;
}

let subscribers: Subscriber[] = [];

function sseSubscriber(subscriber: ScaleSseSubscriber): Subscriber {
  return {
    get received() {
      return subscriber.check.received;
    },
    get error() {
      return subscriber.error;
    },
    hasExactly(published) {
      const { check } = subscriber;
      check.finish(published);
      const clean = check.lost === 0 && check.duplicates === 0 && check.malformed === 0;
      return clean && check.received === published;
    },
    reset: () => subscriber.reset(),
    close: () => subscriber.close(),
  };
}

/** BroadcastClient fails itself on any message but the next seq: counting is its check. */
function wsSubscriber(client: BroadcastClient): Subscriber {
  return {
    get received() {
      return client.received;
    },
    get error() {
      return client.error;
    },
    hasExactly: (published) => client.received === published,
    reset() {
      client.received = 0; // the producer restarts from seq 0: so does the next expected seq
    },
    close: () => client.terminate(),
  };
}

async function open(port: number, kind: ScaleKind): Promise<Subscriber> {
  if (kind === "sse") return sseSubscriber(await ScaleSseSubscriber.open(port, "/sse"));
  const url = plainWebSocket.url(port, "/ws/broadcast");
  return wsSubscriber(await BroadcastClient.open(url, undefined, plainWebSocket));
}

/**
 * Opens subscribers until there are `total`, `perSecond` at most: each tick opens what is due
 * since the start (catching up when a tick is late), without waiting for earlier handshakes.
 */
async function connect(command: Extract<ScaleCommand, { type: "connect" }>): Promise<void> {
  const wanted = command.total - subscribers.length;
  const startedAt = performance.now();
  const opening: Promise<Subscriber>[] = [];
  while (opening.length < wanted) {
    const due = Math.min(
      wanted,
      Math.floor(((performance.now() - startedAt) / 1000) * command.perSecond) + 1,
    );
    while (opening.length < due) {
      const attempt = open(command.port, command.kind);
      attempt.catch(() => {}); // settled below, with the others
      opening.push(attempt);
    }
    await sleep(CONNECT_TICK_MS);
  }
  const opened = await Promise.allSettled(opening);
  for (const result of opened) if (result.status === "fulfilled") subscribers.push(result.value);
  const failed = opened.find((result) => result.status === "rejected");
  if (failed) {
    const reason = (failed.reason as Error).message;
    throw new Error(`a ${command.kind} subscriber could not connect: ${reason}`);
  }
}

function received(): number {
  return subscribers.reduce((sum, subscriber) => sum + subscriber.received, 0);
}

/** Waits (bounded) for every live subscriber to have `published` events, then reports. */
async function finish(published: number, timeoutMs: number): Promise<ScaleReport> {
  const deadline = performance.now() + timeoutMs;
  const behind = () => subscribers.some((s) => s.received < published && !s.error);
  while (behind() && performance.now() < deadline) await sleep(20);
  const problems: string[] = [];
  let wrong = 0;
  for (const subscriber of subscribers) {
    if (!subscriber.error && subscriber.hasExactly(published)) continue;
    wrong++;
    if (problems.length < MAX_PROBLEMS) {
      problems.push(
        subscriber.error?.message ??
          `received ${subscriber.received} of the ${published} events published`,
      );
    }
  }
  return { subscribers: subscribers.length, wrong, problems };
}

function close(): void {
  for (const subscriber of subscribers) subscriber.close();
  subscribers = [];
}

async function answer(command: ScaleCommand): Promise<ScaleAnswer> {
  switch (command.type) {
    case "connect":
      await connect(command);
      return { type: "connected" };
    case "reset":
      for (const subscriber of subscribers) subscriber.reset();
      return { type: "done" };
    case "received":
      return { type: "received", received: received() };
    case "finish":
      return { type: "finished", report: await finish(command.published, command.timeoutMs) };
    case "close":
      close();
      return { type: "done" };
  }
}

answerParent(answer);
