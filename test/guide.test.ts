/*
 * docs/guide.md and the examples it is made of (examples/guide/): each example is run over
 * real sockets and made to show what the guide says it does, and every TypeScript block of
 * the guide must be, byte for byte, the file (or the `// #region` of a file) it names.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { backoffDelay, followEvents, PermanentFailure } from "../examples/guide/backoff-client.js";
import { createBackpressureApp, type FirehoseStats } from "../examples/guide/backpressure.js";
import { joinRoom as joinChatRoom } from "../examples/guide/chat-client.js";
import { createChatRoomsApp } from "../examples/guide/chat-rooms.js";
import { createDisconnectApp, type DisconnectStats } from "../examples/guide/client-disconnect.js";
import { createErrorsApp } from "../examples/guide/errors.js";
import { watchRoom } from "../examples/guide/eventsource-client.js";
import { createFirstApp } from "../examples/guide/first-app.js";
import { createScaledRoomsApp } from "../examples/guide/scale-out.js";
import { createStreamingApp } from "../examples/guide/streaming-response.js";
import { createRoomsApp } from "../examples/guide/topics.js";
import { joinRoom } from "../examples/guide/typed-client.js";
import { createTypedApp } from "../examples/guide/typed-contracts.js";
import { createWebSocketApp } from "../examples/guide/websocket-lifecycle.js";
import { type CloseInfo, connect, type PresenceMember } from "../src/client/index.js";
import { App, type Broker, HttpError, HttpResponse, memoryBroker, SseEvent } from "../src/index.js";
import { TestClient, WebSocketUpgradeError } from "../src/testing/index.js";
import { asyncApiProblems, openApiProblems } from "./support/api-validators.js";
import { quietApp } from "./support/apps.js";
import { assertEndedOnTime, SECRET, signToken } from "./support/jwt-tokens.js";
import { capturedLogger } from "./support/logging.js";
import { RealtimePeer } from "./support/realtime-peer.js";
import { RedisServer } from "./support/redis-server.js";
import { closeAll, instancePairs } from "./support/two-instances.js";
import { eventually, waitFor, within } from "./support/wait.js";

const GUIDE = "docs/guide.md";
const EXAMPLES = "examples/guide";

describe("examples/guide/first-app.ts", { timeout: 20_000 }, () => {
  test("JSON route, validated POST, and the timing middleware logs every request", async () => {
    const { logger, lines } = capturedLogger("info");
    await using client = await TestClient.start(createFirstApp(new App({ logger })));
    const hello = await client.get("/hello/ada");
    assert.equal(hello.statusCode, 200);
    assert.deepEqual(hello.json(), { hello: "ada" });
    assert.deepEqual((await client.post("/notes", { json: { text: "hi" } })).json(), {
      saved: "hi",
    });
    const refused = await client.post("/notes", { json: { text: "" } });
    assert.equal(refused.statusCode, 422);
    assert.equal(refused.json<{ message: string }>().message, "text is required");
    assert.equal(refused.json<{ requestId: string }>().requestId, refused.headers["x-request-id"]);
    assert.equal((await client.post("/notes", { body: "{oops" })).statusCode, 400);
    const handled = lines.filter((line) => line.msg === "request handled");
    assert.equal(handled.length, 4, "one log line per request, errors included");
    assert.equal(typeof handled[0].ms, "number");
    assert.equal(handled[0].reqId, hello.headers["x-request-id"]);
  });
});

describe("examples/guide/streaming-response.ts", { timeout: 20_000 }, () => {
  test("the head is flushed at once, before the first item; then one line per item", async () => {
    const delayMs = 400;
    await using client = await TestClient.start(createStreamingApp(quietApp(), { delayMs }));
    const started = performance.now();
    const stream = await client.stream("GET", "/countdown?from=2");
    const headAfter = performance.now() - started;
    assert.equal(stream.statusCode, 200);
    assert.equal(stream.headers["content-type"], "text/plain; charset=utf-8");
    assert.ok(headAfter < delayMs / 2, `the head came after ${headAfter} ms`);
    const lines = stream.lines();
    assert.equal((await lines.next()).value, "2...");
    const firstAfter = performance.now() - started;
    assert.ok(firstAfter >= delayMs * 0.9, `the first line came after ${firstAfter} ms`);
    const rest: string[] = [];
    for await (const line of lines) rest.push(line);
    assert.deepEqual(rest, ["1...", "liftoff!"]);
    assert.equal(stream.complete, true);
  });

  test("the NDJSON export sends every order, one JSON line each, page after page", async () => {
    await using client = await TestClient.start(createStreamingApp(quietApp()));
    const stream = await client.stream("GET", "/orders.ndjson");
    assert.equal(stream.headers["content-type"], "application/x-ndjson; charset=utf-8");
    const ids: number[] = [];
    for await (const line of stream.lines()) ids.push(JSON.parse(line).id);
    assert.deepEqual(
      ids,
      Array.from({ length: 250 }, (_, i) => i + 1),
    );
    assert.equal(stream.complete, true);
  });
});

describe("examples/guide/client-disconnect.ts", { timeout: 20_000 }, () => {
  test("the generator's finally runs as soon as the client leaves, not at the next tick", async () => {
    // A tick every 10 s: only a wait that honours req.signal can end within the deadline.
    await using client = await TestClient.start(
      createDisconnectApp(quietApp(), { tickMs: 10_000 }),
    );
    const stats = async () => (await client.get("/disconnect-stats")).json<DisconnectStats>();
    const stream = await client.stream("GET", "/ticks");
    assert.equal((await stream.lines().next()).value, "tick 1");
    assert.equal((await stats()).openStreams, 1);
    await stream.close();
    const left = performance.now();
    await eventually(async () => (await stats()).openStreams === 0, "the finally to run", 1000);
    assert.ok(performance.now() - left < 1000);
    assert.deepEqual((await stats()).cleanedUp, [stream.headers["x-request-id"]]);
  });

  test("a long job stops at the next batch once its client has gone", async () => {
    await using client = await TestClient.start(createDisconnectApp(quietApp(), { batchMs: 50 }));
    const stats = async () => (await client.get("/disconnect-stats")).json<DisconnectStats>();
    const gone = new AbortController();
    const request = fetch(`${client.url}/reindex`, { method: "POST", signal: gone.signal });
    await sleep(175);
    gone.abort();
    await assert.rejects(request);
    await eventually(async () => (await stats()).abandonedJobs.length === 1, "the job to stop");
    const [{ batchesDone }] = (await stats()).abandonedJobs;
    assert.ok(batchesDone >= 1 && batchesDone <= 12, `stopped after ${batchesDone} of 20 batches`);
  });

  test("a client that stays gets the whole job", async () => {
    await using client = await TestClient.start(createDisconnectApp(quietApp(), { batchMs: 2 }));
    assert.deepEqual((await client.post("/reindex")).json(), { batches: 20 });
    assert.deepEqual(
      (await client.get("/disconnect-stats")).json<DisconnectStats>().abandonedJobs,
      [],
    );
  });
});

describe("examples/guide/backpressure.ts", { timeout: 20_000 }, () => {
  test("a client that does not read pauses the producer; reading resumes it to the end", async () => {
    const chunks = 2000;
    const chunkBytes = 64 * 1024; // 125 MiB in all
    await using client = await TestClient.start(
      createBackpressureApp(quietApp(), { chunks, chunkBytes }),
    );
    const stats = async () => (await client.get("/firehose/stats")).json<FirehoseStats>();
    const stream = await client.stream("GET", "/firehose");
    // Wait until the buffers are full (the count stops moving for 200 ms), however long that
    // takes on this machine; then it must stay put.
    let paused = await stats();
    for (;;) {
      await sleep(200);
      const now = await stats();
      if (now.produced === paused.produced) break;
      paused = now;
    }
    await sleep(200);
    const stillPaused = await stats();
    assert.equal(stillPaused.finished, false);
    assert.equal(stillPaused.produced, paused.produced, "the producer is not pulled meanwhile");
    // What the socket buffers hold (a few MiB on loopback), not the 125 MiB there is to send.
    assert.ok(
      paused.produced * chunkBytes < 32 * 1024 * 1024,
      `${paused.produced} chunks were produced for a client that read nothing`,
    );
    let received = 0;
    for await (const chunk of stream.chunks()) received += chunk.length;
    assert.equal(received, chunks * chunkBytes);
    assert.deepEqual(await stats(), { produced: chunks, finished: true });
  });
});

describe("examples/guide/errors.ts", { timeout: 20_000 }, () => {
  test("an HttpError before streaming is a real status with a JSON body", async () => {
    await using client = await TestClient.start(createErrorsApp(quietApp()));
    const missing = await client.get("/reports/q9");
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers["content-type"], "application/json; charset=utf-8");
    assert.deepEqual(missing.json(), {
      error: "Not Found",
      message: "No report q9",
      requestId: missing.headers["x-request-id"],
    });
    const report = await client.stream("GET", "/reports/q1");
    assert.equal(report.headers["content-type"], "text/csv; charset=utf-8");
    assert.equal(await report.text(), "region,total\nnorth,120\nsouth,80\neast,95\n");
    assert.equal(report.complete, true);
  });

  test("a failure mid-stream keeps what was sent and leaves the transfer truncated", async () => {
    const { logger, lines } = capturedLogger("error");
    await using client = await TestClient.start(createErrorsApp(new App({ logger })));
    const report = await client.stream("GET", "/reports/broken");
    assert.equal(report.statusCode, 200);
    const received: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const line of report.lines()) received.push(line);
      })(),
      { code: "ECONNRESET" },
    );
    assert.deepEqual(received, ["region,total", "north,120", "south,80"]);
    assert.equal(report.complete, false);
    await eventually(async () => lines.length > 0, "the error to be logged");
    assert.equal(lines[0].reqId, report.headers["x-request-id"]);
    assert.match(JSON.stringify(lines[0]), /storage connection lost/);
  });

  test("the SSE route sends retry: first, and an error event when the job fails", async () => {
    await using client = await TestClient.start(createErrorsApp(quietApp(), { stepMs: 5 }));
    const ok = await client.stream("GET", "/jobs/ok/progress");
    assert.match(ok.headers["content-type"] ?? "", /^text\/event-stream/);
    const body = await ok.text();
    assert.ok(body.startsWith("retry: 2000\n\n"), body);
    assert.equal(body.match(/event: progress/g)?.length, 5);
    assert.doesNotMatch(body, /event: error/);

    const flaky = client.events("/jobs/flaky/progress");
    const events = [];
    for await (const event of flaky) events.push(event);
    const stream = await flaky.response;
    assert.equal(stream.sseState.reconnectionTime, 2000);
    assert.deepEqual(
      events.map((event) => [event.event, JSON.parse(event.data)]),
      [
        ["progress", { percent: 0 }],
        ["progress", { percent: 25 }],
        ["error", { message: "The worker went away", requestId: stream.headers["x-request-id"] }],
      ],
    );
    assert.equal(stream.complete, true, "an SSE stream ends cleanly after its error event");

    const unknown = await client.get("/jobs/nope/progress", {
      headers: { accept: "text/event-stream" },
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ message: string }>().message, "No such job");
  });
});

describe("examples/guide/backoff-client.ts", { timeout: 20_000 }, () => {
  test("delays double from initialMs, are capped at maxMs, and jitter stays in the upper half", () => {
    const top = (attempt: number) => backoffDelay(attempt, { random: () => 1 });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 50, 5000].map(top),
      [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000],
    );
    assert.equal(backoffDelay(3, { random: () => 0 }), 2000);
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      const samples = Array.from({ length: 200 }, () => backoffDelay(attempt));
      assert.ok(samples.every((delay) => delay >= ceiling / 2 && delay <= ceiling));
      assert.ok(new Set(samples).size > 100, "jittered: clients do not all wait the same");
    }
  });

  test("reconnects over fetch: backs off while refused, honours retry:, resumes with Last-Event-ID", async () => {
    const app = quietApp();
    let refusals = 4;
    const lastEventIds: (string | undefined)[] = [];
    app.sse("/flaky", { retry: 30 }, (req) => {
      lastEventIds.push(req.lastEventId);
      if (refusals-- > 0) throw new HttpError(503, "warming up");
      const from = Number(req.lastEventId ?? 0);
      if (from >= 4) return HttpResponse.empty(204); // nothing more: clients must stop
      return [from + 1, from + 2].map((id) => new SseEvent({ id, data: `event ${id}` }));
    });
    await using client = await TestClient.start(app);
    const received: string[] = [];
    const delays: number[] = [];
    await within(
      followEvents(`${client.url}/flaky`, {
        initialMs: 20,
        maxMs: 100,
        random: () => 1,
        onEvent: (event) => received.push(`${event.id}:${event.data}`),
        onRetry: (delay) => delays.push(delay),
      }),
      "followEvents to stop at the 204",
    );
    assert.deepEqual(received, ["1:event 1", "2:event 2", "3:event 3", "4:event 4"]);
    // Four refusals: 20, 40, 80, then capped at 100. Then each clean end waits for the
    // server's retry: 30 (more than the reset backoff's 20).
    assert.deepEqual(delays, [20, 40, 80, 100, 30, 30]);
    assert.deepEqual(lastEventIds, [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      "2",
      "4",
    ]);
  });

  test("a 4xx is permanent, and aborting the signal stops a waiting client", async () => {
    await using client = await TestClient.start(createErrorsApp(quietApp()));
    await assert.rejects(
      followEvents(`${client.url}/jobs/nope/progress`, { onEvent: () => {} }),
      (error) => error instanceof PermanentFailure && /answered 404/.test(error.message),
    );
    const stop = new AbortController();
    const retries: number[] = [];
    const following = followEvents("http://127.0.0.1:1/nothing-listens-here", {
      signal: stop.signal,
      initialMs: 60_000,
      onEvent: () => {},
      onRetry: (delay) => retries.push(delay),
    });
    await eventually(async () => retries.length === 1, "the first failure");
    stop.abort();
    await within(following, "the aborted client to stop during its 30 s+ wait", 1000);
    assert.equal(retries.length, 1);
  });
});

describe("examples/guide/websocket-lifecycle.ts", { timeout: 20_000 }, () => {
  test("middleware refuses a missing or bad token with 401 before any upgrade", async () => {
    await using client = await TestClient.start(createWebSocketApp(quietApp()));
    // Issue 17: the old guard (`!req.path.startsWith("/live")`) let `/%6cive` through.
    for (const path of ["/live", "/live?token=nope", "/%6cive", "/%6Cive?token=nope"]) {
      const refusal = await client.websocketConnect(path).then(
        () => assert.fail(`${path} was upgraded`),
        (error: unknown) => error,
      );
      assert.ok(refusal instanceof WebSocketUpgradeError);
      assert.equal(refusal.statusCode, 401);
      assert.equal(refusal.json<{ message: string }>().message, "A valid token is required");
    }
    assert.equal((await client.get("/live")).statusCode, 401, "plain HTTP is refused too");
    // Fails closed: a path nobody listed as public needs the token too, route or not.
    assert.equal((await client.get("/%6fnline-typo")).statusCode, 401);
    assert.equal((await client.get("/%6fnline")).statusCode, 200, "/online, spelled otherwise");
    assert.deepEqual((await client.get("/online")).json(), { users: [] });
    const byHeader = await client.websocketConnect("/live", {
      headers: { authorization: "Bearer token-bob" },
    });
    assert.deepEqual(await byHeader.receiveJson(), { type: "welcome", user: "bob" });
  });

  test("JSON commands, close codes for return, bad input, unknown commands and a throw", async () => {
    const { logger, lines } = capturedLogger("error");
    await using client = await TestClient.start(createWebSocketApp(new App({ logger })));
    const connect = async (token = "token-ada") => {
      const ws = await client.websocketConnect(`/live?token=${token}`);
      assert.equal((await ws.receiveJson<{ type: string }>())?.type, "welcome");
      return ws;
    };
    const ada = await connect();
    await ada.sendJson({ type: "say", text: "hello" });
    assert.deepEqual(await ada.receiveJson(), { type: "said", user: "ada", text: "hello" });
    assert.deepEqual((await client.get("/online")).json(), { users: ["ada"] });

    const invalid = await connect();
    await invalid.send("{not json");
    assert.deepEqual(await invalid.closed, { code: 1007, reason: "Invalid JSON" });

    const unknown = await connect();
    await unknown.sendJson({ type: "dance" });
    assert.deepEqual(await unknown.closed, { code: 4400, reason: "Unknown command" });

    const crashing = await connect("token-bob");
    await crashing.sendJson({ type: "crash" });
    assert.equal((await crashing.closed).code, 1011);
    await eventually(async () => lines.length > 0, "the handler's error to be logged");
    assert.match(JSON.stringify(lines[0]), /a bug in the handler/);
    await ada.sendJson({ type: "say", text: "still here" });
    assert.deepEqual(await ada.receiveJson(), { type: "said", user: "ada", text: "still here" });

    await ada.sendJson({ type: "bye" });
    assert.deepEqual(await ada.closed, { code: 1000, reason: "" });
    await eventually(
      async () => (await client.get("/online")).json<{ users: string[] }>().users.length === 0,
      "every handler's finally to run",
    );
  });

  test("a message over maxPayload closes with 1009", async () => {
    await using client = await TestClient.start(createWebSocketApp(quietApp()));
    const ws = await client.websocketConnect("/live?token=token-ada");
    await ws.receiveJson();
    await ws.send("x".repeat(16 * 1024 + 1));
    assert.equal((await ws.closed).code, 1009);
  });

  test("the heartbeat drops a peer that stops answering pings, and finally runs", async () => {
    await using client = await TestClient.start(createWebSocketApp(quietApp(), { heartbeat: 100 }));
    const dead = await client.websocketConnect("/live?token=token-ada", { answerPings: false });
    const alive = await client.websocketConnect("/live?token=token-bob");
    await dead.receiveJson();
    await alive.receiveJson();
    assert.equal((await within(dead.closed, "the dead peer to be dropped", 1000)).code, 1006);
    await eventually(
      async () => String((await client.get("/online")).json<{ users: string[] }>().users) === "bob",
      "the dropped socket's finally to run",
    );
    await sleep(250);
    await alive.sendJson({ type: "say", text: "pong answered" });
    assert.equal((await alive.receiveJson<{ text: string }>())?.text, "pong answered");
  });

  test("shutting the app down closes sockets with 1001 and runs the handlers' finally", async () => {
    const app = createWebSocketApp(quietApp());
    const client = await TestClient.start(app);
    const ws = await client.websocketConnect("/live?token=token-ada");
    await ws.receiveJson();
    const closing = app.close({ timeout: 2000 });
    assert.deepEqual(await ws.closed, { code: 1001, reason: "Server shutting down" });
    await closing;
    assert.equal(app.connections.websocket, 0);
    await client.close();
  });
});

describe("examples/guide/topics.ts", { timeout: 20_000 }, () => {
  test("SSE: retry: first, keep-alive comments while quiet, live messages with ids", async () => {
    await using client = await TestClient.start(createRoomsApp(quietApp(), { keepAlive: 100 }));
    const stream = await client.stream("GET", "/rooms/lobby/events", {
      headers: { accept: "text/event-stream" },
    });
    let raw = "";
    const chunks = stream.chunks();
    while (!raw.includes(": keep-alive")) {
      raw += String((await within(chunks.next(), "a keep-alive comment", 1000)).value);
    }
    assert.ok(raw.startsWith("retry: 3000\n\n"), raw);
    const posted = await client.post("/rooms/lobby/messages", {
      json: { user: "ada", text: "hi" },
    });
    assert.equal(posted.statusCode, 201);
    const { id } = posted.json<{ id: string }>();
    while (!raw.includes("data: ")) raw += String((await chunks.next()).value);
    assert.match(
      raw,
      new RegExp(`event: message\nid: ${id}\ndata: {"user":"ada","text":"hi"}\n\n`),
    );
    await stream.close();
    assert.equal((await client.post("/rooms/lobby/messages", { json: {} })).statusCode, 422);
    assert.equal((await client.get("/rooms/No%20Such/events")).statusCode, 404);
  });

  test("replay after Last-Event-ID, a reset for an unknown id, and history", async () => {
    await using client = await TestClient.start(createRoomsApp(quietApp()));
    const ids: string[] = [];
    for (const text of ["one", "two", "three"]) {
      const posted = await client.post("/rooms/r1/messages", { json: { text } });
      ids.push(posted.json<{ id: string }>().id);
    }
    const resumed = client.events("/rooms/r1/events", { headers: { "Last-Event-ID": ids[0] } });
    const replayed = await resumed.take(2);
    assert.deepEqual(
      replayed.map((event) => [event.id, JSON.parse(event.data).text]),
      [
        [ids[1], "two"],
        [ids[2], "three"],
      ],
    );
    await resumed.close();
    const lost = client.events("/rooms/r1/events", { headers: { "Last-Event-ID": "0-0" } });
    const [reset] = await lost.take(1);
    assert.equal(reset.event, "reset");
    assert.equal(reset.id, ids[2]);
    const history = (await client.get("/rooms/r1/history")).json<{ id: string }[]>();
    assert.deepEqual(
      history.map((message) => message.id),
      ids,
    );
  });

  test("one publish reaches SSE and WebSocket subscribers; WebSocket messages are published", async () => {
    await using client = await TestClient.start(createRoomsApp(quietApp()));
    const sse = client.events("/rooms/mixed/events");
    await sse.response;
    const ws = await client.websocketConnect("/rooms/mixed");
    const posted = await client.post("/rooms/mixed/messages", { json: { user: "ada", text: "a" } });
    const { id } = posted.json<{ id: string }>();
    assert.deepEqual(await ws.receiveJson(), {
      topic: "room:mixed",
      id,
      event: "message",
      data: { user: "ada", text: "a" },
    });
    await ws.send("from the socket");
    const [first, second] = await sse.take(2);
    assert.equal(first.id, id);
    assert.deepEqual(JSON.parse(second.data), { user: "websocket", text: "from the socket" });
    assert.equal(
      (await ws.receiveJson<{ data: { text: string } }>())?.data.text,
      "from the socket",
    );
  });
});

describe("examples/guide/eventsource-client.ts", { timeout: 20_000 }, () => {
  test("a real EventSource resumes across a restart with Last-Event-ID, and reports a reset", async () => {
    const broker = memoryBroker();
    const first = createRoomsApp(quietApp({ broker }), { retry: 50 });
    const second = createRoomsApp(quietApp({ broker }), { retry: 50 }); // same topics, later
    const { url, port } = await first.listen({ port: 0, host: "127.0.0.1" });
    const received: { id: string; text: string }[] = [];
    let resets = 0;
    const source = watchRoom(url, "lobby", {
      onMessage: ({ id, text }) => received.push({ id, text }),
      onReset: () => resets++,
    });
    try {
      await waitFor(() => source.readyState === source.OPEN, "the EventSource to open");
      const one = await first.publish("room:lobby", { user: "ada", text: "one" });
      await waitFor(() => received.length === 1, "the live message");
      await first.close(); // the stream ends; EventSource keeps trying to reconnect
      const two = await second.publish("room:lobby", { user: "ada", text: "two" });
      await second.listen({ port, host: "127.0.0.1" });
      await waitFor(() => received.length === 2, "the missed message after reconnecting", 5000);
      assert.deepEqual(received, [
        { id: one, text: "one" },
        { id: two, text: "two" },
      ]);
      assert.equal(resets, 0);
      await second.close();
      // A restart with a fresh memory broker: the client's last id means nothing there.
      const third = createRoomsApp(quietApp(), { retry: 50 });
      await third.listen({ port, host: "127.0.0.1" });
      try {
        await waitFor(() => resets === 1, "a reset event", 5000);
      } finally {
        source.close();
        await third.close();
      }
    } finally {
      source.close();
      await first.close();
      await second.close();
    }
  });
});

describe("examples/guide/scale-out.ts", { timeout: 20_000 }, () => {
  test("two instances on one Redis: a message published on one reaches clients of the other", async (t) => {
    const redis = await RedisServer.start();
    t.after(() => redis.stop());
    const one = createScaledRoomsApp(redis.url, { logger: false });
    const two = createScaledRoomsApp(redis.url, { logger: false });
    await using clientOne = await TestClient.start(one);
    await using clientTwo = await TestClient.start(two);
    const sseOnTwo = clientTwo.events("/rooms/global/events");
    await sseOnTwo.response; // the head comes once the subscription is live
    // The socket's subscribe() may still be on its way to Redis when the next POST lands: it
    // resumes from a first message, as a reconnecting client would, so nothing can slip by.
    const first = await clientOne.post("/rooms/global/messages", { json: { text: "first" } });
    const firstId = first.json<{ id: string }>().id;
    assert.equal((await sseOnTwo.take(1))[0].id, firstId);
    const wsOnOne = await clientOne.websocketConnect(`/rooms/global?lastEventId=${firstId}`);
    const posted = await clientOne.post("/rooms/global/messages", { json: { text: "from one" } });
    const { id } = posted.json<{ id: string }>();
    const [event] = await sseOnTwo.take(1);
    assert.equal(event.id, id);
    assert.equal(JSON.parse(event.data).text, "from one");
    const envelope = await within(wsOnOne.receiveJson<{ id: string }>(), "the socket's message");
    assert.equal(envelope?.id, id);
    await sseOnTwo.close();
    await clientTwo.post("/rooms/global/messages", { json: { text: "from two" } });
    const resumedOnOne = clientOne.events("/rooms/global/events", {
      headers: { "Last-Event-ID": id },
    });
    const [missed] = await resumedOnOne.take(1);
    assert.equal(JSON.parse(missed.data).text, "from two", "history is shared through Redis");
  });
});

describe("examples/guide/chat-rooms.ts and chat-client.ts", { timeout: 60_000 }, () => {
  const topic = "room:lobby";
  let redis: RedisServer;
  let pairs = 0;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(() => redis?.stop());

  /** A token for the chat (no expiry unless `exp`, in seconds, is given). */
  const tokenFor = async (sub: string, name: string, exp: number | null = null) =>
    (await signToken({ sub, name, exp })).token;

  /** Two instances of the chat on a pair of brokers; their http:// URLs. */
  async function twoChats(kind: string) {
    const pair = instancePairs(redis, `guide-chat-${++pairs}`).find((one) => one.name === kind);
    assert.ok(pair, kind);
    const brokers = pair.make();
    const apps = brokers.map(chatOn);
    const urls: string[] = [];
    for (const app of apps) urls.push((await app.listen({ port: 0, host: "127.0.0.1" })).url);
    return { apps, urls, brokers };
  }

  const chatOn = (broker: Broker) =>
    createChatRoomsApp(new App({ logger: false, broker }), { secret: SECRET });

  /** The chat client of `sub` in the lobby, on the instance at `url`. */
  function joinAs(url: string, sub: string, name: string) {
    return joinChatRoom(`${url.replace("http", "ws")}/chat`, {
      room: "lobby",
      name,
      token: () => tokenFor(sub, name),
      WebSocket: WebSocket as never,
    });
  }

  const names = (members: Map<string, PresenceMember>) =>
    [...members.values()].map((member) => (member.info as { name: string }).name).sort();

  for (const kind of ["memory broker", "Redis broker (two instances)"]) {
    test(`${kind}: history on join loses nothing under concurrent publishes; presence named from the token; join and leave; typing reaches the others only and is not stored`, async () => {
      const { apps, urls } = await twoChats(kind);
      const [one, two] = apps;
      const clients: ReturnType<typeof joinAs>[] = [];
      let mallory: ReturnType<typeof connect> | undefined;
      try {
        const line = (n: number) => ({ from: "Server", text: String(n) });
        for (let n = 1; n <= 60; n++) await one.publish(topic, line(n));
        // Ada joins on the second instance while the first keeps publishing, until she is in.
        let joined = false;
        let published = 60;
        const publisher = (async () => {
          let more = 20;
          while (!joined || more-- > 0) {
            await one.publish(topic, line(++published));
            await setImmediate(); // the memory broker's publish never yields to the sockets
          }
        })();
        const ada = joinAs(urls[1], "ada", "Ada");
        clients.push(ada);
        await within(ada.ready, "Ada's join", 5000);
        joined = true;
        const duringJoin = published - 60;
        await publisher;
        assert.ok(duringJoin > 0, "lines were published while Ada joined");
        await waitFor(() => ada.lines.at(-1)?.text === String(published), "the last line", 5000);
        const numbers = ada.lines.map((one) => Number(one.text));
        assert.ok(numbers.length >= 50, `${numbers.length} lines`);
        assert.ok(
          numbers.every((n, i) => i === 0 || n === numbers[i - 1] + 1),
          `no gap and no repeat: ${numbers.join(",")}`,
        );

        const bob = joinAs(urls[0], "bob", "Bob");
        clients.push(bob);
        await within(bob.ready, "Bob's join", 5000);
        assert.deepEqual(
          bob.lines.map((one) => one.text),
          Array.from({ length: 50 }, (_, i) => String(published - 49 + i)),
          "the latest 50",
        );
        await eventually(async () => names(ada.members).join() === "Ada,Bob", "Ada sees Bob");
        await eventually(async () => names(bob.members).join() === "Ada,Bob", "Bob sees Ada");

        // A client that offers another name is listed with its token's.
        mallory = connect(`${urls[1].replace("http", "ws")}/chat`, {
          token: () => tokenFor("eve", "Eve"),
          WebSocket: WebSocket as never,
        });
        await mallory.subscribe(topic, { presence: { name: "Admin" } }).ready;
        await eventually(async () => names(bob.members).join() === "Ada,Bob,Eve", "Eve's join");
        const listed = await fetch(`${urls[0]}/rooms/lobby/members`, {
          headers: { authorization: `Bearer ${await tokenFor("ada", "Ada")}` },
        });
        assert.deepEqual(((await listed.json()) as string[]).sort(), ["Ada", "Bob", "Eve"]);
        assert.equal((await two.presence(topic)).length, 3);

        // A line signed with someone else's name is refused.
        await assert.rejects(
          ada.rt.publish(topic, { from: "Bob", text: "I am Bob" }),
          (error: Error & { code?: string }) => error.code === "forbidden",
        );

        // Bob types: Ada sees it, Bob does not get his own notice back (Ada's line, published
        // after it, reaches Bob after where the notice would have been).
        await bob.typed();
        await waitFor(() => ada.typing.has("Bob"), "Bob's typing notice at Ada's", 5000);
        await ada.say("hi Bob");
        await waitFor(() => bob.lines.at(-1)?.text === "hi Bob", "Ada's line at Bob's", 5000);
        assert.equal(bob.typing.has("Bob"), false, "not echoed to the typist");
        await bob.say("hi Ada");
        await waitFor(() => ada.lines.at(-1)?.text === "hi Ada", "Bob's line at Ada's", 5000);
        assert.equal(ada.typing.has("Bob"), false, "a line ends the notice");
        const history = await two.history(topic, { limit: 1000 });
        assert.equal(history.length, published + 2, "the typing notice is not stored");
        assert.ok(history.every((message) => message.event !== "typing"));

        bob.rt.close();
        await eventually(async () => names(ada.members).join() === "Ada,Eve", "Bob's leave");
      } finally {
        for (const one of clients) one.rt.close();
        mallory?.close();
        await closeAll(apps);
      }
    });

    test(`${kind}: a client back from a reconnect lists the members afresh, missing no leave`, async () => {
      const { apps, urls, brokers } = await twoChats(kind);
      const ada = joinAs(urls[0], "ada", "Ada");
      const bob = joinAs(urls[1], "bob", "Bob");
      const cy = joinAs(urls[1], "cy", "Cy");
      let reopened: App | undefined;
      try {
        await within(Promise.all([ada.ready, bob.ready, cy.ready]), "the joins", 5000);
        await eventually(async () => names(ada.members).join() === "Ada,Bob,Cy", "Ada sees all");
        await apps[0].close(); // Ada's server goes away (1001): her client reconnects
        cy.rt.close(); // and Cy leaves meanwhile: his leave never reaches Ada
        await eventually(async () => (await apps[1].presence(topic)).length === 1, "Bob alone");
        reopened = chatOn(brokers[1]); // the same topics, on Ada's address again
        await reopened.listen({ port: Number(new URL(urls[0]).port), host: "127.0.0.1" });
        await eventually(async () => names(ada.members).join() === "Ada,Bob", "Ada's list", 10_000);
        const listed = (await reopened.presence(topic)).map((member) => member.clientId).sort();
        assert.deepEqual([...ada.members.keys()].sort(), listed, "her new connection, not the old");
      } finally {
        for (const one of [ada, bob, cy]) one.rt.close();
        await closeAll([apps[1], ...(reopened ? [reopened] : [])]);
      }
    });

    test(`${kind}: the plain WebSocket route: replay on join, typing and lines relayed to the others but not back`, async () => {
      const { apps, urls } = await twoChats(kind);
      const sockets: WebSocket[] = [];
      try {
        await apps[0].publish(topic, { from: "Server", text: "before" });
        const open = async (url: string, sub: string, path = "/rooms/lobby") => {
          const ws = new WebSocket(`${url.replace("http", "ws")}${path}`, [
            "bearer",
            await tokenFor(sub, sub.toUpperCase()),
          ]);
          sockets.push(ws);
          const frames: { event: string; id: string; data: { from: string; text?: string } }[] = [];
          ws.on("message", (data) => frames.push(JSON.parse(String(data))));
          const closed = new Promise<number>((resolve) => ws.on("close", resolve));
          return { ws, frames, closed };
        };
        const ada = await open(urls[0], "ada");
        const bob = await open(urls[1], "bob");
        const chat = (frames: typeof ada.frames) =>
          frames.filter((frame) => frame.event === "message" || frame.event === "typing");
        await waitFor(() => chat(ada.frames).length === 1, "Ada's replay", 5000);
        await waitFor(() => chat(bob.frames).length === 1, "Bob's replay", 5000);
        await eventually(async () => (await apps[1].presence(topic)).length === 2, "both in");
        ada.ws.send("/typing");
        ada.ws.send("hello");
        await waitFor(() => chat(bob.frames).length === 3, "Ada's notice and line", 5000);
        assert.deepEqual(
          chat(bob.frames)
            .slice(1)
            .map(({ event, id, data }) => [event, id === "", data]),
          [
            ["typing", true, { from: "ADA" }],
            ["message", false, { from: "ADA", text: "hello" }],
          ],
        );
        bob.ws.send("hi");
        await waitFor(() => chat(ada.frames).length === 2, "Bob's line", 5000);
        assert.deepEqual(
          chat(ada.frames).map((frame) => frame.data.text),
          ["before", "hi"],
          "Ada got neither her notice nor her line back",
        );
        assert.deepEqual(
          (await apps[0].history(topic)).map((message) => (message.data as { text: string }).text),
          ["before", "hello", "hi"],
        );
        const bad = await open(urls[0], "ada", "/rooms/NOT-A-ROOM");
        assert.equal(await within(bad.closed, "the refusal"), 4404);
      } finally {
        for (const ws of sockets) ws.terminate();
        await closeAll(apps);
      }
    });
  }

  test("a token that expires closes the connection with 4001, unless the client refreshed it", async () => {
    const { apps, urls } = await twoChats("memory broker");
    const minted: number[] = [];
    const closes: CloseInfo[] = [];
    const ada = joinChatRoom(`${urls[0].replace("http", "ws")}/chat`, {
      room: "lobby",
      name: "Ada",
      token: async () => {
        const { token, expiresAt } = await signToken({ sub: "ada", name: "Ada" }); // 1 to 2 s
        minted.push(expiresAt as number);
        return token;
      },
      WebSocket: WebSocket as never,
    });
    const { token, expiresAt } = await signToken({ sub: "bob", name: "Bob" });
    const bob = await RealtimePeer.connect(`${urls[1].replace("http", "ws")}/chat`, {
      protocols: ["sluice.v1", "bearer", token],
    });
    try {
      ada.rt.on("close", (close) => closes.push(close));
      await within(ada.ready, "Ada's join", 5000);
      assert.equal((await bob.request({ type: "subscribe", topic })).ok, true);
      const close = await within(bob.closed, "Bob's 4001", 4000);
      assertEndedOnTime(Date.now(), expiresAt, "Bob's connection, never refreshed");
      assert.deepEqual(close, { code: 4001, reason: "credentials expired" });

      await sleep(Math.max(0, minted[0] - Date.now() + 500));
      assert.ok(minted.length >= 2, "Ada's client fetched a fresh token before the first expired");
      assert.deepEqual(closes, [], "and kept its connection");
      await apps[1].publish(topic, { from: "Server", text: "still here?" });
      await waitFor(() => ada.lines.at(-1)?.text === "still here?", "a line after the expiry");
    } finally {
      ada.rt.close();
      bob.ws.terminate();
      await closeAll(apps);
    }
  });
});

describe("examples/guide/testing.test.ts", { timeout: 20_000 }, () => {
  test("its own tests pass when run as the guide says", async (t) => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // set, a test runner inside a test run skips its files
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=tap", `${EXAMPLES}/testing.test.ts`],
      { stdio: ["ignore", "pipe", "pipe"], env },
    );
    t.after(() => child.kill("SIGKILL")); // a hung test run must not outlive this one
    let output = "";
    child.stdout.on("data", (data) => {
      output += data;
    });
    child.stderr.on("data", (data) => {
      output += data;
    });
    const code = await within(
      new Promise<number | null>((resolve) => child.once("exit", resolve)),
      "the testing example to finish",
      15_000,
    );
    assert.equal(code, 0, output);
    assert.match(output, /^# pass 3$/m);
    assert.match(output, /^# fail 0$/m);
  });
});

/** A fenced block of the guide, with the line that introduced it. */
interface Block {
  lang: string;
  source: string | undefined;
  content: string;
  line: number;
}

function guideBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `${GUIDE}:${i + 1}: unclosed code fence`);
    let previous = i - 1;
    while (previous >= 0 && lines[previous].trim() === "") previous--;
    const marker = /^<!-- file: (\S+) -->$/.exec(lines[previous] ?? "");
    blocks.push({
      lang: open[1],
      source: marker?.[1],
      content: lines.slice(i + 1, end).join("\n"),
      line: i + 1,
    });
    i = end;
  }
  return blocks;
}

/** Lines without the indentation they all share (blank lines aside). */
function dedent(lines: string[]): string {
  const indents = lines
    .filter((line) => line.trim() !== "")
    .map((line) => /^ */.exec(line)![0].length);
  const common = Math.min(...indents);
  return lines.map((line) => line.slice(common)).join("\n");
}

/**
 * The lines between `// #region name` and its `// #endregion`, other markers left out,
 * dedented (Biome formats the guide's code blocks, so a region shown there starts at column 0).
 */
function region(text: string, name: string, file: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.trim() === `// #region ${name}`);
  assert.ok(start >= 0, `${file} has no region "${name}"`);
  let depth = 0;
  const kept: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const trimmed = line.trim();
    if (trimmed.startsWith("// #region ")) depth++;
    else if (trimmed === "// #endregion") {
      if (depth === 0) return dedent(kept);
      depth--;
    } else kept.push(line);
  }
  assert.fail(`${file}: region "${name}" has no // #endregion`);
}

function regionNames(text: string): string[] {
  return [...text.matchAll(/^\s*\/\/ #region (\S+)\s*$/gm)].map((match) => match[1]);
}

describe("examples/guide/typed-contracts.ts and typed-client.ts", { timeout: 30_000 }, () => {
  test("HTTP: params coerced, defaults applied, the typed answer; a bad id or body is a 400 problem naming the field", async () => {
    await using client = await TestClient.start(createTypedApp(quietApp()));
    const put = await client.request("PUT", "/notes/7?pin=yes", { json: { text: "milk" } });
    assert.equal(put.statusCode, 200, put.text());
    assert.deepEqual(put.json(), { id: 7, pinned: true, tags: [] });
    const badId = await client.request("PUT", "/notes/zero", { json: { text: "milk" } });
    assert.equal(badId.statusCode, 400);
    assert.equal(badId.headers["content-type"], "application/problem+json");
    const problem = badId.json<{ issues: { in: string; path: string }[] }>();
    assert.deepEqual(
      problem.issues.map((issue) => [issue.in, issue.path]),
      [["params", "id"]],
    );
    const badBody = await client.request("PUT", "/notes/7", { json: { text: "", tags: [1] } });
    assert.equal(badBody.statusCode, 400);
    assert.deepEqual(
      badBody
        .json<{ issues: { in: string; path: string }[] }>()
        .issues.map((issue) => [issue.in, issue.path]),
      [
        ["body", "text"],
        ["body", "tags[0]"],
      ],
    );
  });

  test("topics: a valid message is stored and delivered; an invalid one is a 400 and nothing is stored", async () => {
    const app = createTypedApp(quietApp());
    await using client = await TestClient.start(app);
    const posted = await client.post("/rooms/lobby/messages", {
      json: { user: "ada", text: "hi" },
    });
    assert.equal(posted.statusCode, 200, posted.text());
    const refused = await client.post("/rooms/lobby/messages", { json: { user: "ada", text: "" } });
    assert.equal(refused.statusCode, 400);
    await assert.rejects(app.publish("room:lobby", { user: "", text: "x" }), /Invalid topic/);
    const history = await app.history("room:lobby");
    assert.deepEqual(
      history.map((message) => message.data),
      [{ user: "ada", text: "hi" }],
    );
  });

  test("WebSocket: messages validated and answered; an invalid one is answered by onInvalid and the socket stays open", async () => {
    await using client = await TestClient.start(createTypedApp(quietApp()));
    const socket = await client.websocketConnect("/shout");
    await socket.sendJson({ say: "hi" });
    assert.deepEqual(await socket.receiveJson(), { shouted: "HI" });
    await socket.sendJson({ say: 5 });
    const answer = await socket.receiveJson<{ shouted: string }>();
    assert.match(String(answer?.shouted), /^\?\? Invalid message: say: /);
    await socket.sendJson({ say: "still open" });
    assert.deepEqual(await socket.receiveJson(), { shouted: "STILL OPEN" });
    await socket.close();
  });

  test("the typed client: publish, subscribe and call on the contract's endpoint", async () => {
    const app = createTypedApp(quietApp());
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    const { WebSocket } = await import("ws");
    const { rt, messages, name } = await joinRoom(`${url.replace("http", "ws")}/rt`, "lobby", {
      WebSocket,
    });
    try {
      assert.equal(name, "Ada");
      const first = await within(messages[Symbol.asyncIterator]().next(), "the message", 5000);
      assert.deepEqual(first.value?.data, { user: "ada", text: "hello" });
      await assert.rejects(
        rt.publish("room:lobby", { user: "ada", text: "" }),
        (error: Error & { code?: string }) => error.code === "invalid",
      );
    } finally {
      rt.close();
      await app.close();
    }
  });

  test("the documents: OpenAPI 3.1 and AsyncAPI 3.0 with the schemas, valid", async () => {
    await using client = await TestClient.start(createTypedApp(quietApp()));
    const openapi = (await client.get("/openapi.json")).json<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    }>();
    assert.equal(openapi.openapi, "3.1.0");
    assert.ok(openapi.paths["/notes/{id}"].put.requestBody, "the body schema is documented");
    assert.deepEqual(await openApiProblems(openapi), { errors: [], warnings: [] });
    const asyncapi = (await client.get("/asyncapi.json")).json<{ asyncapi: string }>();
    assert.equal(asyncapi.asyncapi, "3.0.0");
    assert.deepEqual((await asyncApiProblems(asyncapi)).errors, []);
  });
});

describe("docs/guide.md stays in step with the tested examples", { timeout: 20_000 }, () => {
  const markdown = readFileSync(GUIDE, "utf8");
  const blocks = guideBlocks(markdown);
  const codeBlocks = blocks.filter((block) =>
    /^(ts|typescript|js|javascript|tsx)$/.test(block.lang),
  );
  const files = readdirSync(EXAMPLES)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => `${EXAMPLES}/${name}`);

  test("the guide has its sections", () => {
    for (const heading of [
      "Streaming responses",
      "Client disconnects",
      "Backpressure",
      "Errors and retries",
      "WebSocket lifecycle",
      "SSE keep-alive and reconnection",
      "Topics and scaling out with Redis",
      "Chat rooms: presence, typing notices and history on join",
      "Typed contracts: one schema validates, types and documents",
      "Testing",
      "Getting started",
      "Best practices",
    ]) {
      assert.match(markdown, new RegExp(`^## ${heading}$`, "m"), `section "${heading}"`);
    }
  });

  test("every TypeScript block names the example file it comes from", () => {
    assert.ok(codeBlocks.length >= 10, `only ${codeBlocks.length} code blocks`);
    for (const block of codeBlocks) {
      assert.ok(block.source, `${GUIDE}:${block.line}: a code block without <!-- file: ... -->`);
      assert.equal(block.lang, "ts", `${GUIDE}:${block.line}: mark TypeScript blocks ts`);
    }
    for (const block of blocks) {
      if (block.source) assert.equal(block.lang, "ts", `${GUIDE}:${block.line}: not a ts block`);
    }
  });

  test("every such block is its file, or its file's region, verbatim", () => {
    for (const block of codeBlocks) {
      const [file, name] = String(block.source).split("#");
      assert.ok(
        file.startsWith(`${EXAMPLES}/`),
        `${GUIDE}:${block.line}: ${file} is not a guide example`,
      );
      const text = readFileSync(file, "utf8");
      const expected = name === undefined ? text.replace(/\n$/, "") : region(text, name, file);
      assert.equal(
        block.content,
        expected,
        `${GUIDE}:${block.line} differs from ${block.source}: copy it again from the file`,
      );
    }
  });

  test("every example file and every region is shown in the guide", () => {
    const shown = new Set(codeBlocks.map((block) => block.source));
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const names = regionNames(text);
      if (shown.has(file)) {
        assert.deepEqual(names, [], `${file} is shown whole: it must have no region markers`);
        continue;
      }
      assert.ok(names.length > 0, `${file} is not in the guide`);
      for (const name of names)
        assert.ok(shown.has(`${file}#${name}`), `${file}#${name} is not in the guide`);
    }
  });
});
