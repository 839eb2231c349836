// Issue 22, "auth that expires": a long-lived connection ends when the credentials it was
// opened with expire. SSE streams (app.sse routes, a returned app.subscribe(), the real-time
// endpoint's SSE side) end after a last `event: expired`; WebSockets close with 4001 unless
// refreshed (socket.refreshAuth). Real JWTs, real sockets, tokens a second or two from expiry.
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, test } from "node:test";
import WebSocket from "ws";
import {
  type Broker,
  bearerAuth,
  CloseCode,
  HttpError,
  type Middleware,
  type RequestAbortedError,
  type SluiceWebSocket,
} from "../src/index.js";
import { loopbackListener, quietApp } from "./support/apps.js";
import { bothBrokers } from "./support/both-brokers.js";
import { assertEndedOnTime, signToken, testJwtAuth } from "./support/jwt-tokens.js";
import { RedisServer } from "./support/redis-server.js";
import { SseClient } from "./support/sse-client.js";
import { aborted, sleep, waitFor, within } from "./support/wait.js";

const listen = loopbackListener();

/** An app whose routes run behind jwtAuth: an SSE route, topics over SSE, a WebSocket, realtime. */
const redis = await RedisServer.start();
after(() => redis.stop());
const brokers = bothBrokers(redis, "auth-expiry");

async function jwtApp(broker?: Broker) {
  const app = quietApp({ broker });
  app.use(testJwtAuth());
  const abortReasons: unknown[] = [];
  app.sse("/ticks", async function* (req) {
    try {
      yield { event: "hello", data: req.state.auth };
      await aborted(req.signal); // silent until the stream ends
    } finally {
      abortReasons.push((req.signal.reason as RequestAbortedError | undefined)?.reason);
    }
  });
  // The latest message first (atomically), then live ones.
  app.sse("/topics/:topic", (req) =>
    app.subscribe(req.params.topic, { signal: req.signal, replay: 1 }),
  );
  app.websocket("/ws", async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  app.realtime("/rt", { subscribe: ["news"] });
  return { app, url: await listen(app), abortReasons };
}

/** Opens a WebSocket and resolves its close: code, reason, and when it came. */
async function openWebSocket(url: string) {
  const ws = new WebSocket(url);
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
  );
  await within(once(ws, "open"), `${url} to open`);
  return { ws, closed };
}

describe("SSE streams end when their credentials expire", { concurrency: true }, () => {
  test("an app.sse route sends event: expired, then ends at the token's exp; its signal aborts", async () => {
    const { url, abortReasons } = await jwtApp();
    const { token, expiresAt } = await signToken();
    const client = new SseClient(`${url}/ticks?access_token=${token}`);
    await client.waitForEvents(1);
    await within(client.ended, "the stream to end", 4000);
    assertEndedOnTime(Date.now(), expiresAt, "the SSE stream");
    const last = client.events.at(-1);
    assert.equal(last?.event, "expired");
    assert.deepEqual(JSON.parse(last?.data ?? ""), { reason: "credentials expired" });
    await waitFor(() => abortReasons.length === 1, "the producer's finally");
    assert.deepEqual(abortReasons, ["credentials-expired"]);
  });

  for (const broker of brokers) {
    test(`a returned app.subscribe() ends too, and its topic subscriber is let go of (${broker.name})`, async () => {
      const { app, url } = await jwtApp(broker.make());
      const { token, expiresAt } = await signToken();
      await app.publish("news", { n: 1 });
      const client = new SseClient(`${url}/topics/news?access_token=${token}`);
      await waitFor(() => app.topicSubscribers === 1, "the subscription", 3000);
      await client.waitForEvents(1);
      await within(client.ended, "the stream to end", 4000);
      assertEndedOnTime(Date.now(), expiresAt, "the topic stream");
      assert.deepEqual(
        client.events.map((event) => event.event),
        ["message", "expired"],
      );
      assert.equal(client.events[1]?.id, undefined, "no id: line, so Last-Event-ID stays put");
      await waitFor(() => app.topicSubscribers === 0, "the subscriber detached");
      assert.equal(app.connections.sse, 0);
    });
  }

  test("the real-time endpoint's SSE transport ends with event: expired too", async () => {
    const { url } = await jwtApp();
    const { token, expiresAt } = await signToken();
    const client = new SseClient(`${url}/rt?topic=news&access_token=${token}`);
    await within(client.ended, "the stream to end", 4000);
    assertEndedOnTime(Date.now(), expiresAt, "the real-time SSE stream");
    assert.equal(client.events.at(-1)?.event, "expired");
  });

  test("bearerAuth's expiresAt (a Date) ends a stream at that moment", async () => {
    const app = quietApp();
    const at = Date.now() + 700;
    app.use(
      bearerAuth({
        verify: (token) => (token === "good" ? { name: "ada" } : null),
        expiresAt: () => new Date(at),
        queryParam: "access_token",
      }),
    );
    app.sse("/ticks", async function* () {
      yield "hi";
      await new Promise(() => {});
    });
    const client = new SseClient(`${await listen(app)}/ticks?access_token=good`);
    await within(client.ended, "the stream to end", 3000);
    assertEndedOnTime(Date.now(), at, "the bearerAuth stream");
    assert.equal(client.events.at(-1)?.event, "expired");
  });

  test("bearerAuth reads a numeric exp claim of the principal by default (seconds)", async () => {
    const app = quietApp();
    const exp = Math.ceil(Date.now() / 1000) + 1;
    app.use(bearerAuth({ verify: () => ({ sub: "ada", exp }), queryParam: "access_token" }));
    app.sse("/ticks", async function* () {
      yield "hi";
      await new Promise(() => {});
    });
    const client = new SseClient(`${await listen(app)}/ticks?access_token=t`);
    await within(client.ended, "the stream to end", 4000);
    assertEndedOnTime(Date.now(), exp * 1000, "the stream of a principal with exp");
  });

  test("a token without exp never ends its stream", async () => {
    const { url } = await jwtApp();
    const { token } = await signToken({ exp: null });
    const client = new SseClient(`${url}/ticks?access_token=${token}`);
    await client.waitForEvents(1);
    const ended = await Promise.race([client.ended.then(() => true), sleep(2200, false)]);
    assert.equal(ended, false, "still streaming past the time a short token would have expired");
    client.close();
  });
});

describe("WebSockets close with 4001 when their credentials expire", { concurrency: true }, () => {
  test("an app.websocket route closes with 4001 'credentials expired' at the token's exp", async () => {
    const { url } = await jwtApp();
    const { token, expiresAt } = await signToken();
    const { ws, closed } = await openWebSocket(
      `${url.replace("http", "ws")}/ws?access_token=${token}`,
    );
    ws.send("ping");
    await within(once(ws, "message"), "the echo");
    const close = await within(closed, "the close", 4000);
    assert.deepEqual([close.code, close.reason], [4001, "credentials expired"]);
    assert.equal(CloseCode.credentialsExpired, 4001);
    assertEndedOnTime(close.at, expiresAt, "the WebSocket");
  });

  test("socket.refreshAuth(token) keeps it open until the new token's exp; a refused one rejects and the old expiry stands", async () => {
    const app = quietApp();
    app.use(testJwtAuth());
    const outcomes: string[] = [];
    app.websocket("/ws", async (socket: SluiceWebSocket) => {
      for await (const message of socket) {
        try {
          await socket.refreshAuth(String(message));
          outcomes.push(`ok ${(socket.request.state.auth as { n?: number }).n}`);
        } catch (error) {
          assert.ok(error instanceof HttpError);
          outcomes.push(`${error.status} ${error.message}`);
        }
      }
    });
    const url = (await listen(app)).replace("http", "ws");
    const first = await signToken({ n: 1 });
    const { ws, closed } = await openWebSocket(`${url}/ws?access_token=${first.token}`);
    ws.send("not a token!");
    ws.send((await signToken({ sub: "bob" })).token);
    ws.send((await signToken({ exp: Math.floor(Date.now() / 1000) - 5 })).token);
    const second = await signToken({ n: 2, exp: (first.expiresAt as number) / 1000 + 1 });
    ws.send(second.token);
    await waitFor(() => outcomes.length === 4, "four refresh outcomes");
    assert.match(outcomes[0], /^401 Malformed bearer token/);
    assert.match(outcomes[1], /^401 The new token is for another subject/);
    assert.match(outcomes[2], /^401 The token has expired/);
    assert.equal(outcomes[3], "ok 2");
    const close = await within(closed, "the close", 5000);
    assert.equal(close.code, 4001);
    assertEndedOnTime(close.at, second.expiresAt, "the refreshed WebSocket");
  });

  test("a refused refresh leaves the old expiry in place", async () => {
    const app = quietApp();
    app.use(testJwtAuth());
    app.websocket("/ws", async (socket) => {
      for await (const message of socket) await socket.refreshAuth(String(message)).catch(() => {});
    });
    const url = (await listen(app)).replace("http", "ws");
    const first = await signToken();
    const { ws, closed } = await openWebSocket(`${url}/ws?access_token=${first.token}`);
    ws.send((await signToken({ sub: "mallory", exp: Math.floor(Date.now() / 1000) + 60 })).token);
    const close = await within(closed, "the close", 4000);
    assert.equal(close.code, 4001);
    assertEndedOnTime(close.at, first.expiresAt, "the WebSocket after a refused refresh");
  });

  test("refreshAuth without token auth on the route rejects with a 400 saying there is nothing to refresh", async () => {
    const app = quietApp();
    let refusal: unknown;
    app.websocket("/ws", async (socket) => {
      refusal = await socket.refreshAuth("abc").catch((error: unknown) => error);
    });
    const { closed } = await openWebSocket(`${(await listen(app)).replace("http", "ws")}/ws`);
    await within(closed, "the close");
    assert.ok(refusal instanceof HttpError);
    assert.equal(refusal.status, 400);
    assert.match(refusal.message, /Nothing to refresh/);
  });

  test("a token without exp keeps its WebSocket open", async () => {
    const { url } = await jwtApp();
    const { token } = await signToken({ exp: null });
    const { ws, closed } = await openWebSocket(
      `${url.replace("http", "ws")}/ws?access_token=${token}`,
    );
    const outcome = await Promise.race([closed, sleep(2200, "open")]);
    assert.equal(outcome, "open");
    ws.close();
  });

  test("an exp beyond setTimeout's 2^31 − 1 ms does not close at once, nor overflow a timer", async (t) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    t.after(() => process.off("warning", onWarning));
    const { url } = await jwtApp();
    const days40 = Math.ceil(Date.now() / 1000) + 40 * 86_400;
    const { token } = await signToken({ exp: days40 });
    const { ws, closed } = await openWebSocket(
      `${url.replace("http", "ws")}/ws?access_token=${token}`,
    );
    ws.send("ping");
    await within(once(ws, "message"), "the echo");
    const outcome = await Promise.race([closed, sleep(300, "open")]);
    assert.equal(outcome, "open");
    assert.ok(!warnings.includes("TimeoutOverflowWarning"), "no timer was armed past its limit");
    ws.close();
  });
});

describe("credentials checked when they are accepted", () => {
  test("bearerAuth refuses with 401 a principal whose expiry has passed", async () => {
    const app = quietApp();
    app.use(bearerAuth({ verify: () => ({ sub: "ada", exp: 1 }) }));
    app.get("/me", (req) => req.state.auth);
    const url = await listen(app);
    const response = await fetch(`${url}/me`, { headers: { authorization: "Bearer x" } });
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    assert.match(response.headers.get("www-authenticate") ?? "", /The token has expired/);
  });

  test("an expiresAt that returns no date is a 500 (the app's bug), never a crash", async () => {
    const app = quietApp();
    app.use(bearerAuth({ verify: () => ({ sub: "ada" }), expiresAt: () => Number.NaN }));
    app.get("/me", (req) => req.state.auth);
    const url = await listen(app);
    const response = await fetch(`${url}/me`, { headers: { authorization: "Bearer x" } });
    assert.equal(response.status, 500);
  });

  test("bearerAuth and jwtAuth check the new options when made", () => {
    assert.throws(
      () => bearerAuth({ verify: () => true, expiresAt: 5 as never }),
      /bearerAuth: expiresAt must be a function/,
    );
    assert.throws(() => testJwtAuth({ clockTolerance: "soon" }), /jwtAuth: clockTolerance must be/);
    assert.throws(() => testJwtAuth({ topicsClaim: "" }), /jwtAuth: topicsClaim must be/);
  });

  test("jwtAuth's clockTolerance extends the expiry as far as verification accepts the token", async () => {
    const app = quietApp();
    app.use(testJwtAuth({ clockTolerance: "1s" }));
    app.sse("/ticks", async function* () {
      yield "hi";
      await new Promise(() => {});
    });
    const { token, expiresAt } = await signToken();
    const client = new SseClient(`${await listen(app)}/ticks?access_token=${token}`);
    await within(client.ended, "the stream to end", 5000);
    assertEndedOnTime(Date.now(), (expiresAt as number) + 1000, "the stream with a 1 s tolerance");
  });
});

test("the options and refreshAuth are typed: wrong usages do not compile", () => {
  // Type checks only (npx tsc --noEmit covers test/): never run.
  const typeChecks = (socket: SluiceWebSocket) => {
    bearerAuth<{ until: Date }>({
      verify: () => ({ until: new Date() }),
      expiresAt: (p) => p.until,
    });
    bearerAuth({ verify: () => ({ exp: 1 }), expiresAt: () => 1_700_000_000_000 });
    // @ts-expect-error expiresAt returns a Date, ms or undefined, not a string
    bearerAuth({ verify: () => true, expiresAt: () => "tomorrow" });
    // @ts-expect-error topicsClaim is the claim's name
    testJwtAuth({ topicsClaim: 5 });
    const refreshed: Promise<void> = socket.refreshAuth("token");
    // @ts-expect-error refreshAuth takes the token as a string
    void socket.refreshAuth(42);
    return refreshed;
  };
  assert.equal(typeof typeChecks, "function");
});

describe("a refresh keeps the connection's subject", { concurrency: true }, () => {
  /** An app whose WebSocket refreshes with each message and reports the outcome. */
  async function refreshingApp(auth: Middleware<{ auth: unknown }>) {
    const app = quietApp();
    app.use(auth);
    app.websocket("/ws", { protocols: ["bearer"] }, async (socket: SluiceWebSocket) => {
      for await (const message of socket) {
        const outcome = await socket.refreshAuth(String(message)).then(
          () => `ok ${JSON.stringify(socket.request.state.auth)}`,
          (error: HttpError) => `${error.status} ${error.message}`,
        );
        await socket.send(outcome);
      }
    });
    return (await listen(app)).replace("http", "ws");
  }

  /** Opens with `first` (subprotocol bearer), then refreshes with each token in turn. */
  async function refreshes(url: string, first: string, tokens: string[]): Promise<string[]> {
    const ws = new WebSocket(`${url}/ws`, ["bearer", first]);
    const outcomes: string[] = [];
    ws.on("message", (data) => outcomes.push(String(data)));
    await within(once(ws, "open"), "the socket to open");
    for (const token of tokens) ws.send(token);
    await waitFor(() => outcomes.length === tokens.length, "every refresh outcome");
    ws.close();
    return outcomes;
  }

  test("jwtAuth: the same sub from another issuer is refused; a first token without sub refuses every refresh", async () => {
    const url = await refreshingApp(
      testJwtAuth({ issuer: ["https://a.example", "https://b.example"] }),
    );
    const later = Math.ceil(Date.now() / 1000) + 60;
    const fromA = await signToken({ iss: "https://a.example", sub: "123", exp: later });
    const fromB = await signToken({ iss: "https://b.example", sub: "123", exp: later });
    const againA = await signToken({ iss: "https://a.example", sub: "123", exp: later + 1 });
    const outcomes = await refreshes(url, fromA.token, [fromB.token, againA.token]);
    assert.match(outcomes[0] as string, /^401 The new token is for another subject/);
    assert.match(outcomes[1] as string, /^ok .*"iss":"https:\/\/a.example"/);

    const noSub = await signToken({ iss: "https://a.example", sub: undefined, exp: later });
    const otherNoSub = await signToken({ iss: "https://a.example", sub: undefined, name: "m" });
    const refused = await refreshes(url, noSub.token, [otherNoSub.token, fromA.token]);
    for (const outcome of refused) assert.match(outcome, /^401 .*name no subject/);
  });

  test("bearerAuth: a string principal is its subject; an object without sub needs subjectOf", async () => {
    const users: Record<string, unknown> = {
      "ada-1": "ada",
      "ada-2": "ada",
      "bob-1": "bob",
      "id-ada-1": { userId: "ada" },
      "id-ada-2": { userId: "ada" },
      "id-bob-1": { userId: "bob" },
    };
    const verify = (token: string) => users[token];
    const strings = await refreshingApp(bearerAuth({ verify, subprotocol: "bearer" }));
    const byString = await refreshes(strings, "ada-1", ["bob-1", "ada-2"]);
    assert.match(byString[0] as string, /^401 The new token is for another subject/);
    assert.equal(byString[1], 'ok "ada"');
    const objects = await refreshes(strings, "id-ada-1", ["id-ada-2", "id-bob-1"]);
    for (const outcome of objects) assert.match(outcome, /^401 .*name no subject/);

    const named = await refreshingApp(
      bearerAuth({
        verify,
        subprotocol: "bearer",
        subjectOf: (principal) => (principal as { userId?: string }).userId,
      }),
    );
    const byUserId = await refreshes(named, "id-ada-1", ["id-bob-1", "id-ada-2"]);
    assert.match(byUserId[0] as string, /^401 The new token is for another subject/);
    assert.equal(byUserId[1], 'ok {"userId":"ada"}');
    assert.throws(
      () => bearerAuth({ verify, subjectOf: "userId" as never }),
      /subjectOf must be a function/,
    );
  });
});
