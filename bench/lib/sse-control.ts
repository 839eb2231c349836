import { setTimeout as sleep } from "node:timers/promises";

/*
 * The SSE servers' control routes (bench/servers/producer.ts): how many clients are
 * subscribed, and start and stop of the one producer.
 */
const POLL_MS = 20;

export async function subscriberCount(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/sse/clients`);
  if (!response.ok) throw new Error(`GET /sse/clients: ${response.status}`);
  return ((await response.json()) as { clients: number }).clients;
}

/** Waits until the server counts `count` subscribers: all connected, or all let go of. */
export async function waitForSubscribers(port: number, count: number, timeoutMs = 10_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const current = await subscriberCount(port);
    if (current === count) return;
    if (performance.now() > deadline) {
      throw new Error(
        `the server has ${current} SSE subscribers after ${timeoutMs} ms, not ${count}`,
      );
    }
    await sleep(POLL_MS);
  }
}

/** Starts publishing from event 0: `rate` events/s, or as fast as they are delivered when 0. */
export async function startPublishing(port: number, rate: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/sse/start?rate=${rate}`, {
    method: "POST",
  });
  if (response.status !== 204) throw new Error(`POST /sse/start: ${response.status}`);
}

/** Stops publishing; resolves to the number of events published since the start. */
export async function stopPublishing(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/sse/stop`, { method: "POST" });
  if (!response.ok) throw new Error(`POST /sse/stop: ${response.status}`);
  return ((await response.json()) as { published: number }).published;
}
