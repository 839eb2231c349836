import { fullJitterDelay, MAX_TIMER, type ReconnectOptions, reconnectOptions } from "./backoff.js";
import { type SseMessage, SseParser } from "./sse-parser.js";

/** What `new Headers()` takes: an object, a `Headers` or pairs. */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];

export interface FetchEventsOptions {
  /**
   * Request headers (e.g. `authorization`, which EventSource cannot send): an object, a
   * `Headers` or pairs; or a function giving them, called before every request (a fresh
   * token after the server's `event: expired`).
   */
  headers?: HeadersLike | (() => HeadersLike | Promise<HeadersLike>);
  /** fetch's `credentials` (cookies on another origin: `"include"`). */
  credentials?: "omit" | "same-origin" | "include";
  /** Resume after this id (sent as Last-Event-ID on the first request too). */
  lastEventId?: string;
  /** Aborting it ends the iteration (without an error). */
  signal?: AbortSignal;
  /** Backoff between reconnects, or `false` to end with the first stream. */
  reconnect?: ReconnectOptions | false;
}

/** An event stream answered with something else than events. */
export class EventStreamError extends Error {
  override readonly name = "EventStreamError";
  /** The HTTP status, or 0 when there was no response. */
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Statuses worth coming back for later: the server is busy or restarting. */
const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);

/**
 * Reads Server-Sent Events with `fetch`, so that it can send any header, reconnecting with
 * Last-Event-ID (after the stream's `retry:` delay, or with backoff while the server fails)
 * until a `204`, a refusal (a status other than 200 and 408, 429, 502, 503, 504, or a
 * content type other than text/event-stream: an EventStreamError), or `signal` aborts. A bad
 * URL or header throws at the first request, before any retry.
 *
 * @example
 * for await (const event of fetchEvents("/rt?topic=news", { headers: { authorization } })) {
 *   console.log(event.event, JSON.parse(event.data));
 * }
 */
export async function* fetchEvents(
  url: string,
  options: FetchEventsOptions = {},
): AsyncGenerator<SseMessage, void, undefined> {
  const { signal } = options;
  const reconnect = options.reconnect === false ? false : reconnectOptions(options.reconnect);
  let lastEventId = options.lastEventId ?? "";
  let retry: number | undefined;
  let failures = 0;
  for (let attempt = 0; !signal?.aborted; attempt++) {
    let given = options.headers;
    try {
      if (typeof given === "function") given = await given();
    } catch (error) {
      // At a reconnect, a token source that fails for now is retried like a failed fetch.
      if (!reconnect || attempt === 0) throw error;
      failures++;
      await pause(delayAfter(failures, retry, reconnect), signal);
      continue;
    }
    const headers = new Headers(given);
    headers.set("accept", "text/event-stream");
    if (lastEventId !== "") headers.set("last-event-id", lastEventId);
    // Outside the retry: a relative URL (in Node) or a bad header is the caller's mistake.
    const init = { headers, signal, cache: "no-store", credentials: options.credentials };
    const request = new Request(url, init as RequestInit);
    let response: Response;
    try {
      response = await fetch(request);
    } catch (error) {
      if (signal?.aborted) return;
      if (!reconnect) throw error;
      failures++;
      await pause(delayAfter(failures, retry, reconnect), signal);
      continue;
    }
    if (response.status === 204) return;
    if (response.status !== 200) {
      await response.body?.cancel();
      const refused = new EventStreamError(
        response.status,
        `GET ${url} answered ${response.status} ${response.statusText}`.trim(),
      );
      if (!reconnect || !RETRY_STATUSES.has(response.status)) throw refused;
      failures++;
      await pause(delayAfter(failures, retry, reconnect), signal);
      continue;
    }
    const type = response.headers.get("content-type") ?? "";
    if (!/^text\/event-stream\s*(;|$)/i.test(type)) {
      await response.body?.cancel();
      throw new EventStreamError(
        response.status,
        `GET ${url} answered ${JSON.stringify(type)}, not text/event-stream`,
      );
    }
    const parser = new SseParser(lastEventId);
    try {
      for await (const event of readEvents(response, parser)) {
        failures = 0;
        yield event;
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!reconnect) throw error;
    } finally {
      lastEventId = parser.lastEventId;
      retry = parser.retry ?? retry;
    }
    if (!reconnect || signal?.aborted) return;
    await pause(delayAfter(failures, retry, reconnect), signal);
  }
}

async function* readEvents(response: Response, parser: SseParser): AsyncGenerator<SseMessage> {
  const body = response.body;
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    // Ending the iteration early (break, abort) must free the connection.
    reader.cancel().catch(() => {});
  }
}

/** The stream's `retry` when it gave one, else the backoff's; growing while attempts fail. */
function delayAfter(
  failures: number,
  retry: number | undefined,
  reconnect: Required<ReconnectOptions>,
): number {
  const base = retry ?? reconnect.initialDelay;
  if (failures === 0) return base;
  return fullJitterDelay(failures, base, Math.max(base, reconnect.maxDelay));
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER));
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
