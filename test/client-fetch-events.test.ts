// fetchEvents() from sluice/client, against real app.sse() routes on 127.0.0.1.
import assert from "node:assert/strict";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { EventStreamError, fetchEvents, type SseMessage } from "../src/client/index.js";
import { type App, bearerAuth, HttpError, HttpResponse, SseEvent } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { portOf } from "./support/raw-http.js";
import { sleep, waitFor, within } from "./support/wait.js";

const apps: App[] = [];
after(async () => {
  for (const app of apps) await app.close();
});

async function serve(app: App): Promise<string> {
  apps.push(app);
  return (await app.listen({ port: 0, host: "127.0.0.1" })).url;
}

async function take(iterable: AsyncIterable<SseMessage>, count: number): Promise<SseMessage[]> {
  const taken: SseMessage[] = [];
  if (count === 0) return taken;
  for await (const event of iterable) {
    taken.push(event);
    if (taken.length === count) break;
  }
  return taken;
}

async function all(iterable: AsyncIterable<SseMessage>): Promise<SseMessage[]> {
  const taken: SseMessage[] = [];
  for await (const event of iterable) taken.push(event);
  return taken;
}

const FAST = { initialDelay: 5, maxDelay: 20 };

describe("fetchEvents()", () => {
  test("resumes with Last-Event-ID after the server ends the stream: nothing missed or repeated", async () => {
    const app = quietApp();
    const asked: (string | undefined)[] = [];
    app.sse("/events", async function* (req) {
      asked.push(req.lastEventId);
      const from = Number(req.lastEventId ?? 0);
      // Three events per connection, then the server drops the stream.
      for (let n = from + 1; n <= from + 3; n++)
        yield new SseEvent({ id: String(n), event: "tick", data: { n }, retry: 5 });
    });
    const url = await serve(app);
    const events = await within(take(fetchEvents(`${url}/events`), 7), "seven events", 5000);
    assert.deepEqual(
      events.map(({ event, id, data }) => [event, id, JSON.parse(data).n]),
      [1, 2, 3, 4, 5, 6, 7].map((n) => ["tick", String(n), n]),
    );
    assert.equal(events[0].retry, 5);
    assert.deepEqual(asked, [undefined, "3", "6"]);
  });

  test("the first request carries lastEventId and the headers given", async () => {
    const app = quietApp();
    app.sse("/me", async function* (req) {
      yield new SseEvent({ data: `${req.headers.authorization} after ${req.lastEventId}` });
    });
    const url = await serve(app);
    const events = fetchEvents(`${url}/me`, {
      headers: { authorization: "Bearer t" },
      lastEventId: "41",
    });
    const [event] = await take(events, 1);
    assert.equal(event.data, "Bearer t after 41");
    assert.equal(event.id, "41", "the id persists until the stream changes it");
  });

  test("honours retry: the reconnect waits the delay the stream asked for", async () => {
    const app = quietApp();
    const times: number[] = [];
    app.sse("/slow", async function* (req) {
      times.push(performance.now());
      yield new SseEvent({ id: String(Number(req.lastEventId ?? 0) + 1), data: "x", retry: 300 });
    });
    const url = await serve(app);
    await within(take(fetchEvents(`${url}/slow`, { reconnect: FAST }), 2), "two events", 3000);
    assert.equal(times.length, 2);
    assert.ok(times[1] - times[0] >= 290, `reconnected after ${times[1] - times[0]} ms`);
  });

  test("a 204 ends the iteration: no more requests", async () => {
    const app = quietApp();
    let requests = 0;
    async function* steps() {
      yield new SseEvent({ id: "1", data: "step 1" });
      yield new SseEvent({ id: "2", data: "step 2" });
    }
    app.sse("/job", (req) => {
      requests++;
      return req.lastEventId === "2" ? HttpResponse.empty(204) : steps();
    });
    const url = await serve(app);
    const events = await within(
      all(fetchEvents(`${url}/job`, { reconnect: FAST })),
      "the end",
      3000,
    );
    assert.deepEqual(
      events.map((event) => event.data),
      ["step 1", "step 2"],
    );
    assert.equal(requests, 2);
  });

  test("a refusal (403, 404) throws an EventStreamError with the status, without retrying", async () => {
    const app = quietApp();
    let requests = 0;
    app.sse("/private", () => {
      requests++;
      throw new HttpError(403, "not yours");
    });
    const url = await serve(app);
    await assert.rejects(all(fetchEvents(`${url}/private`, { reconnect: FAST })), (error) => {
      assert.ok(error instanceof EventStreamError);
      assert.equal(error.status, 403);
      assert.match(error.message, /GET .*\/private answered 403/);
      return true;
    });
    assert.equal(requests, 1);
    await assert.rejects(all(fetchEvents(`${url}/nowhere`)), { status: 404 });
  });

  test("a 503 is retried with backoff until the stream comes", async () => {
    const app = quietApp();
    let requests = 0;
    app.sse("/busy", async function* () {
      if (++requests < 3) throw new HttpError(503, "busy");
      yield new SseEvent({ data: "at last" });
    });
    const url = await serve(app);
    const [event] = await within(
      take(fetchEvents(`${url}/busy`, { reconnect: FAST }), 1),
      "the event",
      3000,
    );
    assert.equal(event.data, "at last");
    assert.equal(requests, 3);
  });

  test("a 200 that is not text/event-stream throws, naming the content type", async () => {
    const app = quietApp();
    app.get("/json", () => ({ not: "events" }));
    const url = await serve(app);
    await assert.rejects(
      all(fetchEvents(`${url}/json`)),
      /answered "application\/json.*", not text\/event-stream/,
    );
  });

  test("aborting the signal ends the iteration quietly and closes the request", async () => {
    const app = quietApp();
    let aborted = false;
    app.sse("/forever", async function* (req) {
      req.signal.addEventListener("abort", () => {
        aborted = true;
      });
      for (let n = 1; ; n++) {
        yield new SseEvent({ data: String(n) });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    const url = await serve(app);
    const controller = new AbortController();
    const got: string[] = [];
    for await (const event of fetchEvents(`${url}/forever`, { signal: controller.signal })) {
      got.push(event.data);
      if (got.length === 3) controller.abort();
    }
    assert.deepEqual(got, ["1", "2", "3"]);
    await waitFor(() => aborted, "the server to see the request end");
  });

  test("reconnect: false ends with the first stream", async () => {
    const app = quietApp();
    let requests = 0;
    app.sse("/once", async function* () {
      requests++;
      yield new SseEvent({ data: "only" });
    });
    const url = await serve(app);
    const events = await within(all(fetchEvents(`${url}/once`, { reconnect: false })), "the end");
    assert.deepEqual(
      events.map((event) => event.data),
      ["only"],
    );
    assert.equal(requests, 1);
  });
});

describe("fetchEvents() on app.realtime's SSE side", () => {
  test("a stream cut before its first event resumes from the position its opening id-only block gave", async () => {
    const app = quietApp();
    let streams = 0;
    app.realtime("/rt", {
      subscribe: ["a", "b"],
      onConnect: () => {
        streams++;
      },
    });
    const url = await serve(app);
    // A TCP proxy whose connections the test cuts: the app and its topics live on.
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(portOf(url), "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const { port } = proxy.address() as { port: number };
    const abort = new AbortController();
    const events = fetchEvents(`http://127.0.0.1:${port}/rt?topic=a&topic=b`, {
      signal: abort.signal,
      reconnect: FAST,
    });
    try {
      const first = take(events, 1);
      await waitFor(() => streams === 1, "the first stream");
      await new Promise((resolve) => setTimeout(resolve, 100)); // its opening block arrives
      for (const socket of sockets) socket.destroy();
      // Published while the client is away, before it got any event: it must not be missed.
      await app.publish("b", "while away");
      const [event] = await within(first, "the missed message", 5000);
      assert.equal(JSON.parse(event?.data ?? "{}").data, "while away");
    } finally {
      abort.abort();
      for (const socket of sockets) socket.destroy();
    }
    assert.equal(streams, 2, "it came back once");
  });
});

/** A plain node:http server answering each request with `respond(request number, req, res)`. */
async function rawServer(
  respond: (n: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  let requests = 0;
  const server = createHttpServer((req, res) => respond(++requests, req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe("fetchEvents(): review findings", () => {
  test("a stream cut mid-event resumes from the last finished event's id (finding 1)", async () => {
    const asked: (string | undefined)[] = [];
    const url = await rawServer((n, req, res) => {
      asked.push(req.headers["last-event-id"] as string | undefined);
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (n === 1) {
        res.write("id: 1\ndata: one\n\nid: 2\ndata: tw");
        setTimeout(() => res.socket?.destroy(), 50);
      } else res.end("id: 2\ndata: two\n\n");
    });
    const controller = new AbortController();
    const events = await within(
      take(fetchEvents(url, { signal: controller.signal, reconnect: FAST }), 2),
      "two events",
    );
    controller.abort();
    assert.deepEqual(
      events.map((event) => `${event.id}:${event.data}`),
      ["1:one", "2:two"],
    );
    assert.deepEqual(asked, [undefined, "1"]);
  });

  test("a relative URL or a header holding a newline throws to the caller at once (finding 5)", async () => {
    await assert.rejects(
      within(all(fetchEvents("/rt?topic=a", { reconnect: FAST })), "the error", 1000),
      TypeError,
    );
    await assert.rejects(
      within(
        all(fetchEvents("http://127.0.0.1:9/rt", { headers: { authorization: "Bearer x\ny" } })),
        "the error",
        1000,
      ),
      TypeError,
    );
  });

  test("a retry: past 2^31 ms does not make the reconnect come at once (finding 6)", async () => {
    let requests = 0;
    const url = await rawServer((_n, _req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("retry: 99999999999\ndata: x\n\n");
    });
    const controller = new AbortController();
    const reading = all(fetchEvents(url, { signal: controller.signal }));
    await sleep(200);
    controller.abort();
    await within(reading, "the end after the abort");
    assert.equal(requests, 1);
  });

  test("only 200 is a stream: a 201 with events is refused (finding 15)", async () => {
    const url = await rawServer((_n, _req, res) => {
      res.writeHead(201, { "content-type": "text/event-stream" });
      res.end("data: x\n\n");
    });
    await assert.rejects(within(all(fetchEvents(url, { reconnect: FAST })), "the refusal"), {
      status: 201,
    });
  });

  test("the content type must be text/event-stream, parameters allowed (finding 15)", async () => {
    const url = await rawServer((n, _req, res) => {
      res.writeHead(200, {
        "content-type": n === 1 ? "text/event-stream-x" : "Text/Event-Stream; charset=utf-8",
      });
      res.end("data: x\n\n");
    });
    await assert.rejects(
      within(all(fetchEvents(url)), "the refusal"),
      /"text\/event-stream-x", not text\/event-stream/,
    );
    assert.deepEqual(
      (await all(fetchEvents(url, { reconnect: false }))).map((event) => event.data),
      ["x"],
    );
  });

  test("headers as a Headers or pairs; credentials and no-store given to fetch (finding 15)", async () => {
    const seen: (string | undefined)[] = [];
    const url = await rawServer((_n, req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("data: x\n\n");
    });
    const realFetch = globalThis.fetch;
    const requests: Request[] = [];
    globalThis.fetch = (input, init) => {
      if (input instanceof Request) requests.push(input);
      return realFetch(input, init);
    };
    try {
      for (const headers of [new Headers({ authorization: "a" }), [["authorization", "b"]]])
        await all(
          fetchEvents(url, {
            headers: headers as ConstructorParameters<typeof Headers>[0],
            reconnect: false,
            credentials: "include",
          }),
        );
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.deepEqual(seen, ["a", "b"]);
    assert.deepEqual(
      requests.map((request) => [request.cache, request.credentials]),
      [
        ["no-store", "include"],
        ["no-store", "include"],
      ],
    );
  });
});

describe("fetchEvents() and credentials that expire", () => {
  /** An SSE route behind bearerAuth whose tokens say when they expire: `tok-<ms since epoch>`. */
  async function expiringTicks(): Promise<string> {
    const app = quietApp();
    app.use(
      bearerAuth({
        verify: (token) => (/^tok-\d+$/.test(token) ? { token } : undefined),
        expiresAt: ({ token }) => Number(token.slice(4)),
      }),
    );
    app.sse("/ticks", async function* (req) {
      let n = Number(req.header("last-event-id") ?? 0);
      while (!req.signal.aborted) {
        n++;
        yield new SseEvent({ id: String(n), data: n });
        await sleep(50);
      }
    });
    return serve(app);
  }

  const tokenFor = (ms: number) => `tok-${Date.now() + ms}`;

  /** The events of /ticks up to its second `event: expired`, asking `headers` at each request. */
  async function throughTwoExpiries(
    url: string,
    headers: () => Promise<Record<string, string>>,
  ): Promise<SseMessage[]> {
    const seen: SseMessage[] = [];
    for await (const event of fetchEvents(`${url}/ticks`, { headers, reconnect: FAST })) {
      seen.push(event);
      if (seen.filter((e) => e.event === "expired").length === 2) break;
    }
    return seen;
  }

  test("headers as a function: a fresh token after event: expired, the ids go on with nothing missed", async () => {
    const url = await expiringTicks();
    let calls = 0;
    const seen = await throughTwoExpiries(url, async () => {
      calls++;
      return { authorization: `Bearer ${tokenFor(600)}` };
    });
    assert.equal(calls, 2, "headers() before the first request and before the reconnect");
    const firstExpired = seen.findIndex((event) => event.event === "expired");
    assert.ok(seen.length - firstExpired > 2, "ticks came after the first expiry");
    const ticks = seen.filter((event) => event.event !== "expired").map((event) => event.data);
    assert.deepEqual(
      ticks,
      ticks.map((_, i) => String(i + 1)),
      "every tick once, in order, across the reconnects",
    );
  });

  test("fixed headers: the reconnect after event: expired is refused with a 401 EventStreamError", async () => {
    const url = await expiringTicks();
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const event of fetchEvents(`${url}/ticks`, {
          headers: { authorization: `Bearer ${tokenFor(400)}` },
          reconnect: FAST,
        }))
          seen.push(event.event);
      } catch (caught) {
        return caught;
      }
    })();
    assert.ok(error instanceof EventStreamError, String(error));
    assert.equal(error.status, 401);
    assert.equal(seen.at(-1), "expired");
  });

  test("a headers function that fails at a reconnect is retried like a failed fetch; at the first request it throws", async () => {
    const url = await expiringTicks();
    let calls = 0;
    await throughTwoExpiries(url, async () => {
      calls++;
      if (calls === 2) throw new Error("token service unreachable (for now)");
      return { authorization: `Bearer ${tokenFor(400)}` };
    });
    assert.equal(calls, 3, "first request, the failed call, the retry");
    await assert.rejects(
      all(
        fetchEvents(`${url}/ticks`, {
          headers: () => {
            throw new Error("no token at all");
          },
          reconnect: FAST,
        }),
      ),
      /no token at all/,
    );
  });
});
