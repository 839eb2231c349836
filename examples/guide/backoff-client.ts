// A client that follows an SSE stream with fetch and reconnects with exponential backoff and
// jitter. EventSource retries at one fixed delay forever: after an outage every client comes
// back at the same moment. This loop spreads them out, backs off while the server keeps
// failing, resumes with Last-Event-ID and honours the server's `retry:` as a minimum.
// Run it: `npx tsx examples/guide/backoff-client.ts http://127.0.0.1:3000/some/events`
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";

// #region backoff
export interface BackoffOptions {
  /** The first delay's ceiling, in ms. Default 500. */
  initialMs?: number;
  /** No delay is longer than this, in ms. Default 30 000. */
  maxMs?: number;
  /** For tests: Math.random by default. */
  random?: () => number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first): the ceiling doubles with
 * each failed attempt up to `maxMs`, and "equal jitter" picks a delay in its upper half, so
 * clients that failed together do not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 500, maxMs = 30_000, random = Math.random } = options;
  const ceiling = Math.min(maxMs, initialMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}
// #endregion

export interface ServerEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export interface FollowOptions extends BackoffOptions {
  onEvent: (event: ServerEvent) => void;
  /** Called before each wait, with the delay and why the connection ended. */
  onRetry?: (delayMs: number, attempt: number, reason: unknown) => void;
  /** Abort it to stop following. */
  signal?: AbortSignal;
}

/** A status that will not get better by retrying: stop and report it. */
export class PermanentFailure extends Error {}

// #region follow
/** Follows an SSE stream until `signal` aborts, the server answers 204, or a 4xx. */
export async function followEvents(url: string, options: FollowOptions): Promise<void> {
  const { onEvent, onRetry, signal } = options;
  let lastEventId: string | undefined;
  let serverRetryMs = 0;
  let attempt = 0;
  while (!signal?.aborted) {
    let reason: unknown;
    try {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      const response = await fetch(url, { headers, signal });
      if (response.status === 204) return; // the server says: stop reconnecting
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        throw new PermanentFailure(`${url} answered ${response.status}`);
      }
      if (response.status !== 200 || !response.body) throw new Error(`HTTP ${response.status}`);
      for await (const field of sseFields(response.body)) {
        if (field.retry !== undefined) serverRetryMs = field.retry;
        if (field.event === undefined) continue;
        lastEventId = field.event.id ?? lastEventId;
        attempt = 0; // the connection works: start backing off from the beginning again
        onEvent(field.event);
      }
      reason = new Error("the stream ended");
    } catch (error) {
      if (error instanceof PermanentFailure) throw error;
      if (signal?.aborted) return;
      reason = error;
    }
    const delay = Math.max(serverRetryMs, backoffDelay(attempt, options));
    onRetry?.(delay, attempt, reason);
    attempt++;
    await sleep(delay, undefined, { signal }).catch(() => {});
  }
}
// #endregion

/** A small event-stream parser: dispatched events, and `retry:` values as they come. */
async function* sseFields(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event?: ServerEvent; retry?: number }> {
  let buffered = "";
  let data: string[] = [];
  let type = "message";
  let id: string | undefined;
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    const lines = buffered.split(/\r\n|\r|\n/);
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0) yield { event: { event: type, data: data.join("\n"), id } };
        [data, type, id] = [[], "message", undefined];
        continue;
      }
      const colon = line.indexOf(":");
      if (colon === 0) continue; // a comment, such as a keep-alive
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "data") data.push(value);
      else if (name === "event") type = value;
      else if (name === "id") id = value;
      else if (name === "retry" && /^\d+$/.test(value)) yield { retry: Number(value) };
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.argv[2] ?? "http://127.0.0.1:3000/jobs/ok/progress";
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  await followEvents(url, {
    signal: stop.signal,
    onEvent: (event) => console.log(event),
    onRetry: (delay, attempt, reason) =>
      console.error(`attempt ${attempt} failed (${String(reason)}); retrying in ${delay} ms`),
  });
}
