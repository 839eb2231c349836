// Issue 22 review: credentials that expire end every streamed response they opened, not only
// SSE. An NDJSON or plain StreamingResponse (or a returned Readable) is cut at the expiry, with
// no terminating chunk, so the client's fetch sees a network error ("terminated") rather than
// a body that looks complete; its producer is cancelled, `req.signal` aborted with the reason
// "credentials-expired". Real JWTs and bearerAuth, real sockets, tokens 1-2 s from expiry.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import {
  type App,
  bearerAuth,
  ndjson,
  type RequestAbortedError,
  StreamingResponse,
} from "../src/index.js";
import { loopbackListener, quietApp } from "./support/apps.js";
import { bothBrokers } from "./support/both-brokers.js";
import { assertEndedOnTime, signToken, testJwtAuth } from "./support/jwt-tokens.js";
import { RedisServer } from "./support/redis-server.js";
import { aborted, sleep, waitFor, within } from "./support/wait.js";

const listen = loopbackListener();

const redis = await RedisServer.start();
after(() => redis.stop());
const brokers = bothBrokers(redis, "stream-expiry");

/** The reason a request's signal aborted with ("credentials-expired", "client-gone"...). */
function abortReasonOf(signal: AbortSignal): unknown {
  return (signal.reason as RequestAbortedError | undefined)?.reason;
}

interface Received {
  /** The text of each chunk, with when it arrived (ms since the epoch). */
  readonly chunks: { text: string; at: number }[];
  /** How the body ended: "end" (clean, the terminating chunk came) or "error" (cut short). */
  readonly outcome: Promise<{ how: "end" | "error"; at: number; error?: unknown }>;
  stop(): Promise<void>;
}

/** GETs `url` and reads its body as it comes, until it ends, fails or is stopped. */
async function readBody(url: string, headers: Record<string, string> = {}): Promise<Received> {
  const response = await fetch(url, { headers });
  assert.equal(response.status, 200, `GET ${url}`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const chunks: { text: string; at: number }[] = [];
  const outcome = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return { how: "end" as const, at: Date.now() };
        chunks.push({ text: decoder.decode(value, { stream: true }), at: Date.now() });
      }
    } catch (error) {
      return { how: "error" as const, at: Date.now(), error };
    }
  })();
  return { chunks, outcome, stop: () => reader.cancel().catch(() => {}) };
}

/** Asserts the body was cut short at `expiresAt` (not before, soon after), after some chunks. */
async function assertCutAtExpiry(received: Received, expiresAt: number | undefined, what: string) {
  const end = await within(received.outcome, `${what} to end`, 4000);
  assert.equal(end.how, "error", `${what}: cut short (no terminating chunk), not ended cleanly`);
  assert.match(String((end.error as Error).message), /terminated/);
  assertEndedOnTime(end.at, expiresAt, what);
  assert.ok(received.chunks.length > 0, `${what}: something arrived before the expiry`);
}

/** Publishes to `topic` every `ms` until stopped. */
function publishEvery(app: App, topic: string, ms: number): () => void {
  let n = 0;
  const timer = setInterval(() => void app.publish(topic, { n: ++n }).catch(() => {}), ms);
  return () => clearInterval(timer);
}

describe("NDJSON streams end when their credentials expire", { concurrency: true }, () => {
  for (const broker of brokers) {
    test(`topic messages as NDJSON behind jwtAuth stop at the token's exp, the subscriber let go of (${broker.name})`, async () => {
      const app = quietApp({ broker: broker.make() });
      app.use(testJwtAuth());
      app.get("/feed", (req) => ndjson(app.subscribe("news", { signal: req.signal })));
      const url = await listen(app);
      const stopPublishing = publishEvery(app, "news", 100);
      try {
        const { token, expiresAt } = await signToken();
        const received = await readBody(`${url}/feed`, { authorization: `Bearer ${token}` });
        await assertCutAtExpiry(received, expiresAt, "the NDJSON topic feed");
        const lines = received.chunks.map((chunk) => chunk.text).join("");
        assert.ok(lines.includes('"data":{"n":'), `topic messages arrived: ${lines}`);
        // Live until the end: the last line came within a few publishes of the expiry.
        const last = received.chunks.at(-1)?.at ?? 0;
        assert.ok(
          last > (expiresAt as number) - 400,
          `last line ${expiresAt! - last} ms before exp`,
        );
        await waitFor(() => app.topicSubscribers === 0, "the topic subscriber detached");
        // Not a late refusal: the same token is refused for a new request from now on.
        const again = await fetch(`${url}/feed`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(again.status, 401);
        await again.body?.cancel();
      } finally {
        stopPublishing();
      }
    });
  }

  test("the producer is cancelled: its signal aborts with the reason credentials-expired", async () => {
    const app = quietApp();
    app.use(testJwtAuth());
    const reasons: unknown[] = [];
    app.get("/rows", (req) =>
      ndjson(
        (async function* () {
          try {
            yield { row: 1 };
            await aborted(req.signal); // silent until the stream ends
          } finally {
            reasons.push(abortReasonOf(req.signal));
          }
        })(),
      ),
    );
    const { token, expiresAt } = await signToken();
    const received = await readBody(`${await listen(app)}/rows?access_token=${token}`);
    await assertCutAtExpiry(received, expiresAt, "the NDJSON stream");
    assert.equal(received.chunks.map((chunk) => chunk.text).join(""), '{"row":1}\n');
    await waitFor(() => reasons.length === 1, "the producer's finally");
    assert.deepEqual(reasons, ["credentials-expired"]);
  });
});

describe("plain streamed responses end when their credentials expire", {
  concurrency: true,
}, () => {
  test("a StreamingResponse behind bearerAuth's expiresAt is cut at that moment", async () => {
    const app = quietApp();
    const at = Date.now() + 800;
    app.use(
      bearerAuth({ verify: (token) => token === "good" && { name: "ada" }, expiresAt: () => at }),
    );
    const reasons: unknown[] = [];
    app.get("/ticks", (req) => {
      async function* ticks() {
        try {
          for (let n = 0; ; n++) {
            yield `tick ${n}\n`;
            await sleep(50);
          }
        } finally {
          reasons.push(abortReasonOf(req.signal));
        }
      }
      return new StreamingResponse(ticks(), { headers: { "content-type": "text/plain" } });
    });
    const received = await readBody(`${await listen(app)}/ticks`, {
      authorization: "Bearer good",
    });
    await assertCutAtExpiry(received, at, "the plain stream");
    await waitFor(() => reasons.length === 1, "the producer's finally");
    assert.deepEqual(reasons, ["credentials-expired"]);
  });

  test("a returned Readable (a download) is cut too, and destroyed", async () => {
    const app = quietApp();
    app.use(testJwtAuth());
    let source: Readable | undefined;
    app.get("/download", () => {
      let n = 0;
      const timer = setInterval(() => source?.push(`part ${n++}\n`), 50);
      source = new Readable({
        read() {},
        destroy: (_error, done) => {
          clearInterval(timer);
          done(null);
        },
      });
      return source;
    });
    const { token, expiresAt } = await signToken();
    const received = await readBody(`${await listen(app)}/download?access_token=${token}`);
    await assertCutAtExpiry(received, expiresAt, "the download");
    await waitFor(() => source?.destroyed === true, "the Readable destroyed");
  });
});

describe("streams whose credentials do not expire go on as before", { concurrency: true }, () => {
  /** An NDJSON row every 100 ms, for ever: still flowing `ms` later? */
  function rowsRoute(app: App) {
    app.get("/rows", () =>
      ndjson(
        (async function* () {
          for (let n = 0; ; n++) {
            yield { n };
            await sleep(100);
          }
        })(),
      ),
    );
  }

  async function assertStillFlowing(received: Received, ms: number) {
    const outcome = await Promise.race([received.outcome, sleep(ms, "open" as const)]);
    assert.equal(outcome, "open", "still streaming past the time a short token would expire");
    const recent = received.chunks.filter((chunk) => chunk.at > Date.now() - 500);
    assert.ok(recent.length > 0, "rows still arrive");
    await received.stop();
  }

  test("a route without auth", async () => {
    const app = quietApp();
    rowsRoute(app);
    await assertStillFlowing(await readBody(`${await listen(app)}/rows`), 2200);
  });

  test("a JWT without exp", async () => {
    const app = quietApp();
    app.use(testJwtAuth());
    rowsRoute(app);
    const { token } = await signToken({ exp: null });
    await assertStillFlowing(
      await readBody(`${await listen(app)}/rows?access_token=${token}`),
      2200,
    );
  });

  test("bearerAuth whose principal has no expiry", async () => {
    const app = quietApp();
    app.use(bearerAuth({ verify: () => ({ name: "ada" }) }));
    rowsRoute(app);
    const received = await readBody(`${await listen(app)}/rows`, { authorization: "Bearer x" });
    await assertStillFlowing(received, 2200);
  });
});

/**
 * The timers armed with a delay in [fromMs, toMs] while `run` runs, and whether each was
 * cleared by the time `run` resolved. Timers still run as usual.
 */
async function timersArmed(fromMs: number, toMs: number, run: () => Promise<void>) {
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  const armed = new Set<unknown>();
  const cleared = new Set<unknown>();
  globalThis.setTimeout = ((callback: () => void, delay?: number) => {
    const timer = real.setTimeout(callback, delay);
    if (typeof delay === "number" && delay >= fromMs && delay <= toMs) armed.add(timer);
    return timer;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((timer: Parameters<typeof clearTimeout>[0]) => {
    if (armed.has(timer)) cleared.add(timer);
    real.clearTimeout(timer);
  }) as typeof clearTimeout;
  try {
    await run();
  } finally {
    Object.assign(globalThis, real);
  }
  return { armed: armed.size, pending: armed.size - cleared.size };
}

test("a stream that ends before its credentials expire leaves no expiry timer behind", async () => {
  const app = quietApp();
  const at = Date.now() + 60_000;
  app.use(bearerAuth({ verify: () => ({ name: "ada" }), expiresAt: () => at }));
  app.get("/rows", () => ndjson([{ n: 1 }, { n: 2 }]));
  app.get("/text", () => new StreamingResponse(["a", "b"]));
  const url = await listen(app);
  for (const path of ["/rows", "/text"]) {
    const timers = await timersArmed(50_000, 60_000, async () => {
      const received = await readBody(`${url}${path}`, { authorization: "Bearer x" });
      const end = await within(received.outcome, `${path} to end`);
      assert.equal(end.how, "end", `${path}: a finished stream ends cleanly, as before`);
    });
    assert.equal(timers.armed, 1, `${path}: the stream watched its credentials' expiry`);
    assert.equal(timers.pending, 0, `${path}: the expiry timer was cleared when it ended`);
  }
});
