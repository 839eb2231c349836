// WebSockets over HTTP/2 (RFC 8441) at their edges, over h2 (TLS) and h2c: malformed and
// refused handshakes, a server that does not offer them, a client written on raw frames,
// the 100 streams of a connection, clients that leave by RST_STREAM or by dropping the
// connection, listen()'s option checks, and the heap after 2 000 of them. After every bad
// input another client's request and WebSocket are still served and nothing crashed.
//
// How the inputs were made: node:http2's client sends the CONNECTs with wrong pseudo-headers
// and resets streams; the rest is written by hand on a raw connection (test/support/
// h2-frames.ts, h2-connect-frames.ts): extended CONNECTs the server did not offer, a 101st
// stream, and the WebSocket frames of a client that does not go through ws.
import assert from "node:assert/strict";
import { constants } from "node:http2";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type App, bearerAuth, type SluiceWebSocket } from "../src/index.js";
import { openH2WebSocket } from "../src/testing/h2-websocket.js";
import { WebSocketUpgradeError } from "../src/testing/index.js";
import { echo, quietApp } from "./support/apps.js";
import { watchCrashes } from "./support/crash-watch.js";
import {
  connectFrame,
  dataFrame,
  indexedStatus,
  Opcode,
  waitForWebSocketFrames,
  webSocketFrame,
  webSocketFramesOn,
} from "./support/h2-connect-frames.js";
import {
  Flag,
  FrameType,
  frame,
  RawH2Connection,
  requestBlock,
  rstStreamFrame,
} from "./support/h2-frames.js";
import {
  connectRequest,
  h2Session,
  openWebSocketStream,
  type WebSocketStream,
} from "./support/h2-websocket-streams.js";
import {
  clientFor,
  forEachProtocol,
  listenOptions,
  type Protocol,
  serveOn,
} from "./support/protocols.js";
import { waitFor, within } from "./support/wait.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

watchCrashes();

/**
 * Leeway for heapUsed after GC, after 2 000 WebSockets came and went, against before: about
 * 1 MB is seen; keeping each one's request and h2 stream (a leak) grows it by some 15 MB, which
 * the issue's 16 MB would let through, so 3 KB a WebSocket.
 */
const HEAP_TOLERANCE = 2000 * 3 * 1024;

/** What the server saw of its `/ws` sockets: handlers that ended, and the close codes. */
interface Seen {
  handlersEnded: number;
  closeCodes: number[];
}

/**
 * An app with an echoing `/ws` (noting what it saw), `/guarded` (origins), `/chat`
 * (requireProtocol), `/private/ws` behind bearerAuth, `/ping` and the SSE topic `/ticks`.
 */
function edgesApp(): { app: App; seen: Seen } {
  const app = quietApp();
  const seen: Seen = { handlersEnded: 0, closeCodes: [] };
  app.websocket("/ws", async (socket: SluiceWebSocket) => {
    try {
      for await (const message of socket) await socket.send(message);
    } finally {
      seen.handlersEnded++;
    }
    seen.closeCodes.push((await socket.closed).code);
  });
  app.websocket("/guarded", { origins: ["https://app.example"] }, echo);
  app.websocket("/chat", { protocols: ["chat.v1"], requireProtocol: true }, echo);
  app.group("/private", (group) => {
    group.use(bearerAuth({ verify: (token) => (token === "good" ? { user: "ann" } : undefined) }));
    group.websocket("/ws", echo);
  });
  app.get("/ping", () => "pong");
  app.sse("/ticks", (req) => app.subscribe("ticks", { signal: req.signal }));
  return { app, seen };
}

async function refusalOf(opening: Promise<unknown>): Promise<WebSocketUpgradeError> {
  try {
    await opening;
  } catch (error) {
    assert.ok(error instanceof WebSocketUpgradeError, `expected a refused upgrade, got ${error}`);
    return error;
  }
  assert.fail("the WebSocket was opened");
}

/** Another client's GET /ping and, when the app has `/ws`, a WebSocket echo, on a fresh session. */
async function assertOthersServed(protocol: Protocol, url: string, after: string, ws = true) {
  const other = await clientFor(protocol, url);
  try {
    const ping = await within(other.request("/ping"), `GET /ping after ${after}`);
    assert.equal(ping.status, 200, `GET /ping after ${after}`);
    if (!ws) return;
    const socket = await within(other.websocket("/ws"), `a WebSocket after ${after}`);
    await socket.send(`still here after ${after}`);
    assert.equal(await within(socket.receive(), "the echo"), `still here after ${after}`);
    await socket.close();
  } finally {
    other.close();
  }
}

/** The JSON error body sluice answers with, for a refusal answered with `requestId`. */
function errorBody(answer: { body: string; headers: Record<string, unknown> }) {
  return JSON.parse(answer.body) as { error: string; message: string; requestId: string };
}

/** Whether the server ended its side of `streamId` (DATA or HEADERS with END_STREAM). */
function endedByServer(raw: RawH2Connection, streamId: number): boolean {
  return raw.frames.some(
    (f) =>
      f.streamId === streamId &&
      (f.type === FrameType.DATA || f.type === FrameType.HEADERS) &&
      (f.flags & Flag.END_STREAM) !== 0,
  );
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test("listen() refuses a non-boolean http2WebSockets, naming the option", async (t) => {
  const app = quietApp();
  t.after(() => app.close()); // were it taken, the server would not hold the run up
  const options = await listenOptions("h2c");
  await assert.rejects(
    // @ts-expect-error http2WebSockets is a boolean
    async () => app.listen({ ...options, http2WebSockets: "yes" }),
    (error: Error) =>
      error instanceof TypeError &&
      /http2WebSockets must be true or false, got "yes"/.test(error.message),
  );
  assert.equal(app.server, undefined, "nothing listening");
});

test("listen() refuses http2WebSockets without http2, saying to pass http2", async (t) => {
  for (const http2WebSockets of [true, false]) {
    const app = quietApp();
    t.after(() => app.close());
    await assert.rejects(
      async () => app.listen({ port: 0, host: "127.0.0.1", http2WebSockets }),
      (error: Error) =>
        error instanceof TypeError &&
        /http2WebSockets applies to HTTP\/2 only: pass http2: true \(or "cleartext"\)/.test(
          error.message,
        ),
    );
    await assert.rejects(
      async () => app.listen({ port: 0, host: "127.0.0.1", http2: false, http2WebSockets }),
      TypeError,
    );
  }
});

forEachProtocol(["h2", "h2c"], (protocol) => {
  const tls = protocol === "h2";
  const scheme = tls ? "https" : "http";

  async function start() {
    const { app, seen } = edgesApp();
    const client = await serveOn(app, protocol);
    const port = Number(new URL(client.url).port);
    const authority = `127.0.0.1:${port}`;
    return { app, seen, client, url: client.url, port, authority };
  }

  test("a plain CONNECT (no :protocol) is refused with 501 and sluice's JSON error", async () => {
    const { client, url, authority } = await start();
    const answer = await connectRequest(client.session!, { ":authority": authority });
    assert.equal(answer.status, 501);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    assert.deepEqual(errorBody(answer), {
      error: "Not Implemented",
      message: "CONNECT is not served here: this server is not a proxy",
      requestId: answer.headers["x-request-id"],
    });
    await assertOthersServed(protocol, url, "a plain CONNECT");
  });

  test("an extended CONNECT for another protocol (:protocol foo) is refused with 501", async () => {
    const { client, url, authority } = await start();
    const answer = await connectRequest(client.session!, {
      ":protocol": "foo",
      ":scheme": scheme,
      ":path": "/ws",
      ":authority": authority,
      "sec-websocket-version": "13",
    });
    assert.equal(answer.status, 501);
    assert.equal(
      errorBody(answer).message,
      'The extended CONNECT protocol "foo" is not served here',
    );
    await assertOthersServed(protocol, url, ":protocol foo");
  });

  for (const version of [undefined, "8"]) {
    test(`a WebSocket CONNECT with ${version ? `sec-websocket-version: ${version}` : "no sec-websocket-version"} gets 400 naming version 13`, async () => {
      const { client, url, authority, app } = await start();
      const answer = await connectRequest(client.session!, {
        ":protocol": "websocket",
        ":scheme": scheme,
        ":path": "/ws",
        ":authority": authority,
        ...(version ? { "sec-websocket-version": version } : {}),
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.headers["sec-websocket-version"], "13");
      assert.match(errorBody(answer).message, /Sec-WebSocket-Version: 13 is spoken here/);
      assert.equal(app.connections.websocket, 0);
      await assertOthersServed(protocol, url, `sec-websocket-version ${version}`);
    });
  }

  test("a WebSocket CONNECT to a path without a WebSocket route gets 404", async () => {
    const { client, url } = await start();
    const refused = await refusalOf(client.websocket("/nowhere"));
    assert.equal(refused.statusCode, 404);
    assert.equal(refused.json<{ message: string }>().message, "No WebSocket route for /nowhere");
    await assertOthersServed(protocol, url, "a 404 CONNECT");
  });

  test("a WebSocket CONNECT to an app without any WebSocket route gets 404", async () => {
    const app = quietApp();
    app.get("/ping", () => "pong");
    const client = await serveOn(app, protocol);
    const refused = await refusalOf(client.websocket("/ws"));
    assert.equal(refused.statusCode, 404);
    await assertOthersServed(protocol, client.url, "a CONNECT to an app without WebSockets", false);
  });

  test("a route whose origins refuse the page's Origin answers 403", async () => {
    const { client, url } = await start();
    const refused = await refusalOf(
      client.websocket("/guarded", { headers: { origin: "https://evil.example" } }),
    );
    assert.equal(refused.statusCode, 403);
    const allowed = await client.websocket("/guarded", {
      headers: { origin: "https://app.example" },
    });
    await allowed.send("from the app");
    assert.equal(await within(allowed.receive(), "the echo"), "from the app");
    await allowed.close();
    await assertOthersServed(protocol, url, "a 403 CONNECT");
  });

  test("requireProtocol without a match among the offered subprotocols answers 400", async () => {
    const { client, url } = await start();
    const refused = await refusalOf(client.websocket("/chat", { protocols: ["other"] }));
    assert.equal(refused.statusCode, 400);
    const agreed = await client.websocket("/chat", { protocols: ["other", "chat.v1"] });
    assert.equal(agreed.protocol, "chat.v1");
    await agreed.close();
    await assertOthersServed(protocol, url, "a 400 for the subprotocol");
  });

  test("a middleware's HttpError (bearerAuth's 401) is the answer, with its www-authenticate", async () => {
    const { client, url } = await start();
    const refused = await refusalOf(client.websocket("/private/ws"));
    assert.equal(refused.statusCode, 401);
    assert.match(String(refused.headers["www-authenticate"]), /^Bearer realm="api"/);
    assert.equal(refused.json<{ error: string }>().error, "Unauthorized");
    const signedIn = await client.websocket("/private/ws", {
      headers: { authorization: "Bearer good" },
    });
    await signedIn.send("signed in");
    assert.equal(await within(signedIn.receive(), "the echo"), "signed in");
    await signedIn.close();
    await assertOthersServed(protocol, url, "a 401 CONNECT");
  });

  test("with http2WebSockets: false the SETTINGS do not offer it, and an extended CONNECT sent anyway is reset (PROTOCOL_ERROR)", async () => {
    const { app } = edgesApp();
    const { url } = await app.listen({
      ...(await listenOptions(protocol)),
      http2WebSockets: false,
    });
    try {
      const { session, settings } = await h2Session(url);
      assert.equal(settings.enableConnectProtocol, false);
      await assert.rejects(
        openH2WebSocket(session, Promise.resolve(settings), "/ws"),
        /does not offer WebSockets over HTTP\/2 \(no SETTINGS_ENABLE_CONNECT_PROTOCOL\)/,
      );
      session.destroy();

      // nghttp2 takes a :protocol it did not enable as a malformed request: the stream is
      // reset, the connection goes on (its next request is answered).
      const raw = await RawH2Connection.open(Number(new URL(url).port), tls);
      await raw.acknowledgeSettings();
      raw.send(connectFrame(1, { path: "/ws", tls }));
      raw.send(dataFrame(1, webSocketFrame(Opcode.TEXT, Buffer.from("hello?"), true)));
      await waitFor(() => raw.resets.has(1), "the CONNECT's reset", 3000);
      assert.equal(raw.resets.get(1), constants.NGHTTP2_PROTOCOL_ERROR);
      assert.equal(raw.answeredStreams.has(1), false, "no answer, no WebSocket");
      raw.send(
        frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, requestBlock("/ping", tls)),
      );
      await waitFor(() => raw.answeredStreams.has(3), "GET /ping on the same connection", 3000);
      assert.equal(raw.closed, false);
      assert.equal(app.connections.websocket, 0);
      raw.destroy();

      const other = await clientFor(protocol, url);
      assert.equal((await other.request("/ping")).status, 200);
      other.close();
    } finally {
      await app.close();
    }
  });

  test("an RFC 8441 client on raw frames gets 200 and the echo of its masked text frame, unmasked", async () => {
    const { port, seen, app, url } = await start();
    const raw = await RawH2Connection.open(port, tls);
    await raw.acknowledgeSettings();
    raw.send(connectFrame(1, { path: "/ws", tls }));
    await waitFor(() => raw.answeredStreams.has(1), "the CONNECT's answer", 3000);
    assert.equal(indexedStatus(raw, 1), 200);

    raw.send(dataFrame(1, webSocketFrame(Opcode.TEXT, Buffer.from("héllo, h2"), true)));
    const [echoed] = await waitForWebSocketFrames(raw, 1, (f) => f.length === 1, "the echo");
    assert.deepEqual(
      { ...echoed, payload: echoed?.payload.toString("utf8") },
      { fin: true, opcode: Opcode.TEXT, masked: false, payload: "héllo, h2" },
    );

    const normalClosure = Buffer.from([0x03, 0xe8]);
    raw.send(dataFrame(1, webSocketFrame(Opcode.CLOSE, normalClosure, true)));
    const frames = await waitForWebSocketFrames(raw, 1, (f) => f.length === 2, "the close");
    assert.equal(frames[1]?.opcode, Opcode.CLOSE);
    assert.equal(frames[1]?.payload.readUInt16BE(0), 1000);
    await waitFor(() => endedByServer(raw, 1), "the server's end of the stream");
    raw.send(frame(FrameType.DATA, Flag.END_STREAM, 1)); // and ours: the stream is over
    await waitFor(() => seen.closeCodes.length === 1, "the server's socket closed");
    assert.deepEqual(seen.closeCodes, [1000]);
    await waitFor(() => app.connections.websocket === 0, "no WebSocket left");
    raw.destroy();
    await assertOthersServed(protocol, url, "a raw-frame client");
  });

  test("an unmasked frame from the client is a protocol error: the server closes with 1002", async () => {
    const { port, seen, app, url } = await start();
    const raw = await RawH2Connection.open(port, tls);
    await raw.acknowledgeSettings();
    raw.send(connectFrame(1, { path: "/ws", tls }));
    await waitFor(() => raw.answeredStreams.has(1), "the CONNECT's answer", 3000);
    raw.send(dataFrame(1, webSocketFrame(Opcode.TEXT, Buffer.from("no mask"), false)));
    const [closing] = await waitForWebSocketFrames(raw, 1, (f) => f.length >= 1, "a close");
    assert.equal(closing?.opcode, Opcode.CLOSE);
    assert.equal(closing?.payload.readUInt16BE(0), 1002);
    await waitFor(() => endedByServer(raw, 1), "the server's end of the stream");
    raw.send(frame(FrameType.DATA, Flag.END_STREAM, 1));
    await waitFor(() => seen.closeCodes.length === 1, "the server's socket closed");
    assert.deepEqual(seen.closeCodes, [1002]);
    assert.equal(seen.handlersEnded, 1);
    await waitFor(() => app.connections.websocket === 0, "no WebSocket left");
    assert.equal(raw.closed, false, "the connection outlives the stream");
    raw.destroy();
    await assertOthersServed(protocol, url, "an unmasked frame");
  });

  test("100 WebSockets fill a connection's streams: all echo, the 101st is refused (REFUSED_STREAM), closing one lets another in", async () => {
    const { port, app, url } = await start();
    const raw = await RawH2Connection.open(port, tls);
    // Not acknowledging SETTINGS: a stream past the limit is then refused, not a
    // connection error (test/http2-hostile.test.ts shows both).
    const streamIds = Array.from({ length: 101 }, (_, index) => 1 + 2 * index);
    for (const id of streamIds) raw.send(connectFrame(id, { path: "/ws", tls }));
    await waitFor(() => raw.resets.has(201), "the 101st stream refused", 5000);
    assert.deepEqual([...raw.resets], [[201, constants.NGHTTP2_REFUSED_STREAM]]);
    await waitFor(() => raw.answeredStreams.size === 100, "100 answers", 5000);
    assert.deepEqual(
      streamIds.slice(0, 100).map((id) => indexedStatus(raw, id)),
      Array(100).fill(200),
    );
    await waitFor(() => app.connections.websocket === 100, "100 WebSockets open", 5000);

    for (const id of streamIds.slice(0, 100)) {
      raw.send(dataFrame(id, webSocketFrame(Opcode.TEXT, Buffer.from(`on ${id}`), true)));
    }
    await waitFor(
      () => streamIds.slice(0, 100).every((id) => webSocketFramesOn(raw, id).length === 1),
      "100 echoes",
      5000,
    );
    for (const id of streamIds.slice(0, 100)) {
      assert.equal(webSocketFramesOn(raw, id)[0]?.payload.toString(), `on ${id}`);
    }
    await assertOthersServed(protocol, url, "a connection full of WebSockets");

    raw.send(rstStreamFrame(1, constants.NGHTTP2_CANCEL));
    await waitFor(() => app.connections.websocket === 99, "the reset WebSocket gone", 1000);
    raw.send(connectFrame(203, { path: "/ws", tls }));
    await waitFor(() => raw.answeredStreams.has(203), "a WebSocket in the freed stream", 3000);
    assert.equal(indexedStatus(raw, 203), 200);
    assert.equal(raw.resets.has(203), false);
    raw.destroy();
    await waitFor(() => app.connections.websocket === 0, "all closed with the connection", 2000);
  });

  test("RST_STREAM (CANCEL) on a WebSocket's stream: the handler ends, the socket closes with 1006, other streams go on", async () => {
    const { app, seen, client } = await start();
    const session = client.session!;
    const ticks = await client.open("/ticks");
    await waitFor(() => app.topicSubscribers === 1, "the SSE stream subscribed");
    const leaving = await openWebSocketStream(session, "/ws");
    const staying = await openWebSocketStream(session, "/ws");
    await waitFor(() => app.connections.websocket === 2, "2 WebSockets open");

    leaving.stream.close(constants.NGHTTP2_CANCEL);
    const took = await waitFor(() => seen.closeCodes.length === 1, "the handler to end", 1000);
    assert.ok(took < 1000, `closed after ${took} ms`);
    assert.deepEqual(seen.closeCodes, [1006]);
    assert.equal(seen.handlersEnded, 1);
    assert.equal(app.connections.websocket, 1);

    await staying.socket.send("still on");
    assert.equal(await within(staying.socket.receive(), "the other socket's echo"), "still on");
    await app.publish("ticks", { after: "reset" });
    await ticks.waitForText((text) => text.includes('{"after":"reset"}'), "the SSE event");
    assert.equal((await client.request("/ping")).status, 200);
    await staying.socket.close();
    await waitFor(() => app.connections.websocket === 0, "no WebSocket left", 1000);
  });

  test("a session destroyed with 3 WebSockets on it: all 3 closed server-side within a second", async () => {
    const { app, seen, url } = await start();
    const { session } = await h2Session(url);
    const sockets: WebSocketStream[] = [];
    for (let index = 0; index < 3; index++) sockets.push(await openWebSocketStream(session, "/ws"));
    await waitFor(() => app.connections.websocket === 3, "3 WebSockets open");
    session.destroy();
    await waitFor(() => seen.closeCodes.length === 3, "the 3 handlers to end", 1000);
    assert.deepEqual(seen.closeCodes, [1006, 1006, 1006]);
    assert.equal(app.connections.websocket, 0);
    for (const { socket } of sockets) {
      assert.equal((await within(socket.closed, "the client end closed")).code, 1006);
    }
    await assertOthersServed(protocol, url, "a session dropped with WebSockets");
  });

  test("2 000 WebSockets opened and closed on a few sessions: nothing left, the heap back within 6 MB", async () => {
    const { app, seen, url } = await start();
    const sessions = await Promise.all(Array.from({ length: 4 }, () => h2Session(url)));

    async function round(perSession: number) {
      const opened = await Promise.all(
        sessions.flatMap(({ session }) =>
          Array.from({ length: perSession }, () => openWebSocketStream(session, "/ws")),
        ),
      );
      await Promise.all(
        opened.map(async ({ socket }, index) => {
          await socket.send(`message ${index}`);
          assert.equal(await socket.receive(), `message ${index}`);
          await socket.close();
        }),
      );
    }

    await round(25); // warm up: code paths compiled, pools made
    await waitFor(() => app.connections.websocket === 0, "the warm-up closed", 2000);
    const closedBefore = seen.closeCodes.length;
    const before = heapAfterGc();
    for (let index = 0; index < 20; index++) await round(25);
    await waitFor(() => app.connections.websocket === 0, "every WebSocket closed", 2000);
    assert.equal(seen.closeCodes.length - closedBefore, 2000);
    // TestWebSocket.close() sends no code: the server sees 1005 (no status received).
    assert.deepEqual(new Set(seen.closeCodes), new Set([1005]));
    const growth = heapAfterGc() - before;
    assert.ok(growth < HEAP_TOLERANCE, `heap grew by ${growth} bytes after 2 000 WebSockets`);
    for (const { session } of sessions) session.destroy();
  });
});
