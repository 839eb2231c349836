import { setTimeout as sleep } from "node:timers/promises";

/*
 * The control routes of a server's one producer (bench/servers/producer.ts), under `base`:
 * /sse for Server-Sent Events, /ws for the WebSocket broadcast. How many clients are
 * subscribed, and start and stop of the producer.
 */
const POLL_MS = 20;

export interface ClientCounts {
  /** Clients the producer publishes to. */
  clients: number;
  /** Open WebSockets of every route (the /ws routes only). */
  open?: number;
}

export async function clientCounts(port: number, base: string): Promise<ClientCounts> {
  const response = await fetch(`http://127.0.0.1:${port}${base}/clients`);
  if (!response.ok) throw new Error(`GET ${base}/clients: ${response.status}`);
  return (await response.json()) as ClientCounts;
}

/**
 * Waits until the server counts `count` subscribers (all connected, or all let go of) and,
 * where it counts them, as many open WebSockets (`count` open sockets after a run: none).
 */
export async function waitForSubscribers(
  port: number,
  base: string,
  count: number,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const current = await clientCounts(port, base);
    if (current.clients === count && (current.open ?? count) === count) return;
    if (performance.now() > deadline) {
      const open = current.open === undefined ? "" : ` (${current.open} open WebSockets)`;
      throw new Error(
        `the server has ${current.clients} ${base} subscribers${open} after ${timeoutMs} ms, not ${count}`,
      );
    }
    await sleep(POLL_MS);
  }
}

/**
 * Starts publishing from message 0: `rate` messages/s in bursts of `burst`, or as fast as
 * they are delivered when the rate is 0.
 */
export async function startPublishing(
  port: number,
  base: string,
  rate: number,
  burst = 1,
): Promise<void> {
  const query = `rate=${rate}&burst=${burst}`;
  const response = await fetch(`http://127.0.0.1:${port}${base}/start?${query}`, {
    method: "POST",
  });
  if (response.status !== 204) throw new Error(`POST ${base}/start: ${response.status}`);
}

/** Stops publishing; resolves to the number of messages published since the start. */
export async function stopPublishing(port: number, base: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}${base}/stop`, { method: "POST" });
  if (!response.ok) throw new Error(`POST ${base}/stop: ${response.status}`);
  return ((await response.json()) as { published: number }).published;
}
