import type { SseMessage } from "../sse/sse-parser.js";
import type { TestStream } from "./test-stream.js";

/**
 * A Server-Sent Events subscription opened by `client.events()`. It is an async iterator of
 * parsed events, so both `for await (const event of client.events("/feed"))` and
 * `await stream.next()` work. Leaving a loop early does not disconnect (the next loop goes on
 * where the last one stopped); `close()` does. Iterating a response that is not an event
 * stream (a 401, say) throws with its status and body, as EventSource would fail.
 */
const DEFAULT_TAKE_TIMEOUT_MS = 10_000;

export class TestEventStream implements AsyncIterableIterator<SseMessage> {
  /** The response head (status, headers), once it arrives. */
  readonly response: Promise<TestStream>;
  #events: AsyncGenerator<SseMessage, void, undefined> | undefined;

  constructor(response: Promise<TestStream>) {
    this.response = response;
    // A stream nobody iterates must not turn a refused connection into an unhandled rejection.
    response.catch(() => {});
  }

  async next(): Promise<IteratorResult<SseMessage, undefined>> {
    this.#events ??= await openEvents(await this.response);
    const step = await this.#events.next();
    return step.done ? { done: true, value: undefined } : step;
  }

  /** Called when a `for await` loop is left: the subscription stays open. */
  async return(): Promise<IteratorResult<SseMessage, undefined>> {
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next `count` events; rejects if the stream ends before they all came, or if they have
   * not all come within `timeout` ms (default 10 000; 0 waits for ever): the stream is then
   * closed, so that a test fails with what was missing instead of hanging.
   */
  async take(count: number, options: { timeout?: number } = {}): Promise<SseMessage[]> {
    const timeout = options.timeout ?? DEFAULT_TAKE_TIMEOUT_MS;
    const taken: SseMessage[] = [];
    let timer: NodeJS.Timeout | undefined;
    const expired =
      timeout > 0
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              reject(
                new Error(
                  `Timed out after ${timeout} ms: ${taken.length} of ${count} events came (the stream is closed)`,
                ),
              );
              this.close().catch(() => {});
            }, timeout);
          })
        : undefined;
    try {
      while (taken.length < count) {
        const step = await (expired ? Promise.race([this.next(), expired]) : this.next());
        if (step.done) {
          throw new Error(`The event stream ended after ${taken.length} of ${count} events`);
        }
        taken.push(step.value);
      }
      return taken;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Disconnects, as a closed browser tab would. */
  async close(): Promise<void> {
    const stream = await this.response.catch(() => undefined);
    await stream?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

async function openEvents(
  stream: TestStream,
): Promise<AsyncGenerator<SseMessage, void, undefined>> {
  const type = String(stream.headers["content-type"] ?? "");
  if (stream.statusCode !== 200 || !/^text\/event-stream\b/i.test(type)) {
    const body = await stream.text().catch((error: Error) => `<${error.message}>`);
    throw new Error(
      `Expected a 200 text/event-stream response, got ${stream.statusCode} ${type || "(no content-type)"}: ${body.slice(0, 500)}`,
    );
  }
  return stream.events();
}
