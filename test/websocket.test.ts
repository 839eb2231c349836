import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { jsonEcho } from "../examples/websocket-chat.js";
import {
  App,
  HttpError,
  HttpResponse,
  type SluiceWebSocket,
  WebSocketClosedError,
  WebSocketMessage,
} from "../src/index.js";
import { TestClient, TestWebSocket, WebSocketUpgradeError } from "../src/testing/index.js";
import { gate } from "./fixtures/gate.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { portOf, rawExchange } from "./support/raw-http.js";
import { sleep, waitFor, within } from "./support/wait.js";

/** The handler (examples/websocket-chat.ts), noting each socket whose finally ran. */
function seedHandler(finallyRan: string[]) {
  return async (socket: SluiceWebSocket) => {
    try {
      await jsonEcho(socket);
    } finally {
      finallyRan.push(socket.id);
    }
  };
}

async function refusal(promise: Promise<TestWebSocket>): Promise<WebSocketUpgradeError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WebSocketUpgradeError, `expected a refused upgrade, got ${error}`);
    return error;
  }
  assert.fail("the upgrade was accepted");
}

/** A raw upgrade request, answered by whatever the server writes before closing. */
function rawUpgrade(url: string, path: string, headers: Record<string, string>): Promise<string> {
  const all: Record<string, string> = {
    host: "127.0.0.1",
    connection: "Upgrade",
    upgrade: "websocket",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  };
  const head = Object.entries(all)
    .filter(([, value]) => value !== "")
    .map(([name, value]) => `${name}: ${value}`)
    .join("\r\n");
  return rawExchange(portOf(url), `GET ${path} HTTP/1.1\r\n${head}\r\n\r\n`, (received) =>
    received.includes("\r\n\r\n"),
  );
}

describe("app.websocket(): the contract", () => {
  test("the issue's handler: welcome with the socket id, pong, invalid JSON answered, echo; finally runs on close", async () => {
    const app = quietApp();
    const finallyRan: string[] = [];
    app.websocket("/ws", seedHandler(finallyRan));
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/ws");
    const welcome = (await ws.receiveJson()) as { type: string; id: string };
    assert.equal(welcome.type, "welcome");
    assert.ok(welcome.id.length > 0);
    await ws.sendJson({ type: "ping" });
    assert.deepEqual(await ws.receiveJson(), { type: "pong" });
    await ws.send("not json");
    assert.deepEqual(await ws.receiveJson(), { type: "error", message: "Invalid JSON" });
    await ws.send('{"type":"chat","text":"héllo"}');
    assert.equal(await ws.receive(), '{"type":"chat","text":"héllo"}');
    assert.equal(app.connections.websocket, 1);
    assert.deepEqual(await ws.close(1000, "done"), { code: 1000, reason: "done" });
    await waitFor(() => finallyRan.length === 1, "the handler's finally");
    assert.deepEqual(finallyRan, [welcome.id]);
    assert.equal(app.connections.websocket, 0);
  });

  test("addRoute({ method: 'WS' }) registers a WebSocket route; objects are sent as JSON text", async () => {
    const app = quietApp();
    app.addRoute({ method: "WS", path: "/echo", handler_name: "echo", is_async: true }, (async (
      socket: SluiceWebSocket,
    ) => {
      for await (const m of socket) await socket.send({ echo: m });
    }) as never);
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/echo");
    await ws.send("hi");
    const reply = await ws.receive();
    assert.equal(typeof reply, "string", "JSON goes out as a text frame");
    assert.deepEqual(JSON.parse(String(reply)), { echo: "hi" });
  });

  test("send: strings as text, Buffer and Uint8Array as binary, WebSocketMessage as prepared, others as JSON", async () => {
    const app = quietApp();
    app.websocket("/kinds", async (socket) => {
      await socket.send("text");
      await socket.send(Buffer.from([1, 2, 3]));
      await socket.send(new Uint8Array([4, 5]));
      await socket.send(42);
      await socket.send(null);
      await socket.send(WebSocketMessage.json({ prepared: true }));
      await socket.send(WebSocketMessage.text("prepared text"));
      await socket.send(WebSocketMessage.binary(new Uint8Array([9])));
      await socket.sendJson("a string as JSON");
      await socket.receive();
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/kinds");
    const received = [];
    for (let i = 0; i < 9; i++) received.push(await ws.receive());
    assert.deepEqual(received, [
      "text",
      Buffer.from([1, 2, 3]),
      Buffer.from([4, 5]),
      "42",
      "null",
      '{"prepared":true}',
      "prepared text",
      Buffer.from([9]),
      '"a string as JSON"',
    ]);
  });

  test("binary messages arrive as Buffers, text as strings; receive() gives undefined once closed", async () => {
    const app = quietApp();
    const seen: unknown[] = [];
    app.websocket("/in", async (socket) => {
      for await (const message of socket) seen.push(message);
      seen.push(await socket.receive());
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/in");
    await ws.send(Buffer.from([0xff, 0x00]));
    await ws.send("ü");
    await ws.close();
    await waitFor(() => seen.length === 3, "the handler to read both messages and the end");
    assert.deepEqual(seen, [Buffer.from([0xff, 0x00]), "ü", undefined]);
  });

  test("receiveJson parses, throws a SyntaxError that says so on invalid JSON, and gives undefined after the close", async () => {
    const app = quietApp();
    const outcome: unknown[] = [];
    app.websocket("/json", async (socket) => {
      outcome.push(await socket.receiveJson());
      await socket.receiveJson().catch((error: Error) => outcome.push(error));
      outcome.push(await socket.receiveJson());
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/json");
    await ws.sendJson({ a: [1] });
    await ws.send("{broken");
    await ws.close();
    await waitFor(() => outcome.length === 3, "three receiveJson outcomes");
    assert.deepEqual(outcome[0], { a: [1] });
    assert.ok(outcome[1] instanceof SyntaxError);
    assert.match((outcome[1] as Error).message, /not valid JSON/);
    assert.equal(outcome[2], undefined);
  });

  test("send on a closed socket rejects with WebSocketClosedError; a value JSON cannot encode rejects and the socket stays open", async () => {
    const app = quietApp();
    const errors: unknown[] = [];
    let afterClose: Promise<void> | undefined;
    app.websocket("/send", async (socket) => {
      await socket.send(10n).catch((error) => errors.push(error));
      await socket.send(() => 1).catch((error) => errors.push(error));
      await socket.send("still open");
      await socket.closed;
      afterClose = socket.send("too late");
      await afterClose.catch((error) => errors.push(error));
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/send");
    assert.equal(await ws.receive(), "still open");
    await ws.close();
    await waitFor(() => errors.length === 3, "three refused sends");
    assert.ok(errors[0] instanceof TypeError, `BigInt: ${errors[0]}`);
    assert.ok(errors[1] instanceof TypeError, `function: ${errors[1]}`);
    assert.match((errors[1] as Error).message, /cannot be sent as JSON/);
    assert.ok(errors[2] instanceof WebSocketClosedError);
  });

  test("a send nobody awaits on a closed socket is no unhandled rejection (a broadcast can fire and forget)", async () => {
    const app = quietApp();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    let fired = false;
    app.websocket("/ws", async (socket) => {
      await socket.closed;
      void socket.send("to nobody");
      void socket.send(WebSocketMessage.text("to nobody either"));
      fired = true;
    });
    try {
      await using client = await TestClient.start(app);
      const ws = await client.websocketConnect("/ws");
      await ws.close();
      await waitFor(() => fired, "the sends after the close");
      await sleep(20);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("socket.request carries params, query, headers and middleware state; socket.id is made by the server, never the x-request-id the client chose", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      req.state.user = `user-${req.query.get("u")}`;
      return next();
    });
    let seen: Record<string, unknown> = {};
    app.websocket("/rooms/:room", async (socket, req) => {
      seen = {
        sameRequest: socket.request === req,
        room: req.params.room,
        u: req.query.get("u"),
        header: req.header("x-trace"),
        user: req.state.user,
        idIsUuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(
          socket.id,
        ),
        requestId: req.id,
        idIsNotRequestId: socket.id !== req.id,
      };
      await socket.send("ready");
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/rooms/lobby?u=7", {
      headers: { "x-trace": "t1", "x-request-id": "someone-elses-socket-id" },
    });
    assert.equal(await ws.receive(), "ready");
    assert.deepEqual(seen, {
      sameRequest: true,
      room: "lobby",
      u: "7",
      header: "t1",
      user: "user-7",
      idIsUuid: true,
      requestId: "someone-elses-socket-id",
      idIsNotRequestId: true,
    });
  });

  test("headers middleware set (a cookie) and the request id go out with the 101; an invalid one is left out", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.use(async (req, next) => {
      req.setResponseHeader("set-cookie", "session=abc; HttpOnly");
      req.setResponseHeader("x-bad", "line\r\nbreak");
      return next();
    });
    app.websocket("/ws", async (socket) => {
      await socket.send("ok");
    });
    await using client = await TestClient.start(app);
    const answer = await rawUpgrade(client.url, "/ws", { "x-request-id": "req-42" });
    assert.match(answer, /^HTTP\/1\.1 101 /);
    assert.match(answer, /\r\nset-cookie: session=abc; HttpOnly\r\n/i);
    assert.match(answer, /\r\nx-request-id: req-42\r\n/i);
    assert.doesNotMatch(answer, /x-bad/i);
    assert.ok(lines.some((line) => /invalid header left out/.test(line.msg)));
  });
});

describe("before the upgrade: routing, middleware, origins, subprotocols", () => {
  test("an unknown path gets a plain 404, no upgrade; a plain GET on a WebSocket route gets 426", async () => {
    const app = quietApp();
    app.websocket("/ws", async () => {});
    await using client = await TestClient.start(app);
    const missing = await refusal(client.websocketConnect("/nope"));
    assert.equal(missing.statusCode, 404);
    assert.equal(
      (missing.json() as { requestId: string }).requestId,
      missing.headers["x-request-id"],
    );
    const plain = await client.get("/ws");
    assert.equal(plain.statusCode, 426);
    assert.equal(plain.headers.upgrade, "websocket");
  });

  test("an HTTP route and a WebSocket route can share a path", async () => {
    const app = quietApp();
    app.get("/live", () => ({ http: true }));
    app.websocket("/live", async (socket) => {
      await socket.send("ws");
    });
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/live")).json(), { http: true });
    const ws = await client.websocketConnect("/live");
    assert.equal(await ws.receive(), "ws");
  });

  test("middleware runs first: an HttpError(401) is an HTTP 401 with its JSON body, and the handler never runs", async () => {
    const app = quietApp();
    let handlerRan = false;
    app.use(async (req, next) => {
      if (req.header("authorization") !== "Bearer good")
        throw new HttpError(401, "Sign in first", undefined, {
          headers: { "www-authenticate": "Bearer" },
        });
      return next();
    });
    app.websocket("/ws", async (socket) => {
      handlerRan = true;
      await socket.send("hello");
    });
    await using client = await TestClient.start(app);
    const refused = await refusal(client.websocketConnect("/ws"));
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers["www-authenticate"], "Bearer");
    assert.equal(refused.headers.connection, "close");
    assert.deepEqual(refused.json(), {
      error: "Unauthorized",
      message: "Sign in first",
      requestId: refused.headers["x-request-id"],
    });
    const ws = await client.websocketConnect("/ws", { headers: { authorization: "Bearer good" } });
    assert.equal(await ws.receive(), "hello");
    assert.equal(handlerRan, true);
  });

  test("a middleware that answers by itself sends that answer instead of upgrading; one that awaits next() sees the upgrade go through", async () => {
    const app = quietApp();
    const order: string[] = [];
    app.use(async (req, next) => {
      if (req.query.has("teapot")) return HttpResponse.json({ no: "upgrade" }, { statusCode: 418 });
      order.push("before");
      const result = await next();
      order.push("after");
      return result;
    });
    app.websocket("/ws", async (socket) => {
      order.push("handler");
      await socket.send("in");
    });
    await using client = await TestClient.start(app);
    const refused = await refusal(client.websocketConnect("/ws?teapot"));
    assert.equal(refused.statusCode, 418);
    assert.deepEqual(refused.json(), { no: "upgrade" });
    const ws = await client.websocketConnect("/ws");
    assert.equal(await ws.receive(), "in");
    assert.deepEqual(order, ["before", "after", "handler"]);
  });

  test("a middleware that wraps next()'s result answers with it (no upgrade), without the route's internals, and is warned about", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.use(async (_req, next) => ({ data: await next() }));
    app.websocket("/ws", { maxPayload: 1234 }, async () => {});
    await using client = await TestClient.start(app);
    const refused = await refusal(client.websocketConnect("/ws"));
    assert.equal(refused.statusCode, 200);
    assert.doesNotMatch(refused.body, /1234|maxPayload/);
    assert.ok(lines.some((line) => /return next\(\)'s result/.test(line.msg)));
  });

  test("handshake headers cannot be overridden by middleware, whatever their case", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      req.responseHeaders.Upgrade = "h2c";
      req.responseHeaders["Sec-WebSocket-Accept"] = "forged";
      return next();
    });
    app.websocket("/ws", async () => {});
    await using client = await TestClient.start(app);
    const answer = await rawUpgrade(client.url, "/ws", {});
    assert.match(answer, /^HTTP\/1\.1 101 /);
    assert.equal(answer.match(/\r\nupgrade:/gi)?.length, 1);
    assert.doesNotMatch(answer, /forged|h2c/);
  });

  test("origins: a listed origin is let in, another gets 403, a client without Origin (not a browser) is let in", async () => {
    const app = quietApp();
    app.websocket("/chat", { origins: ["https://app.example"] }, async (socket) => {
      await socket.send("in");
    });
    app.websocket(
      "/custom",
      { origins: (origin) => origin.endsWith(".trusted.example") },
      async (socket) => {
        await socket.send("custom");
      },
    );
    await using client = await TestClient.start(app);
    const allowed = await client.websocketConnect("/chat", {
      headers: { origin: "https://APP.example" },
    });
    assert.equal(await allowed.receive(), "in");
    const refused = await refusal(
      client.websocketConnect("/chat", { headers: { origin: "https://evil.example" } }),
    );
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /evil\.example/);
    const noOrigin = await client.websocketConnect("/chat");
    assert.equal(await noOrigin.receive(), "in");
    const custom = await client.websocketConnect("/custom", {
      headers: { origin: "https://a.trusted.example" },
    });
    assert.equal(await custom.receive(), "custom");
    const customRefused = await refusal(
      client.websocketConnect("/custom", { headers: { origin: "https://trusted.example.evil" } }),
    );
    assert.equal(customRefused.statusCode, 403);
  });

  test('origins by default: the page\'s own origin (Origin host = Host, default ports filled in) only; no Origin is let in; "*" lets any in', async () => {
    const app = quietApp();
    app.websocket("/own", async (socket) => {
      await socket.send("own");
    });
    app.websocket("/any", { origins: "*" }, async (socket) => {
      await socket.send("any");
    });
    await using client = await TestClient.start(app);
    const same = await client.websocketConnect("/own", { headers: { origin: client.url } });
    assert.equal(await same.receive(), "own");
    const viaProxy = await client.websocketConnect("/own", {
      headers: { origin: "https://App.example", host: "app.example:443" },
    });
    assert.equal(await viaProxy.receive(), "own");
    const noPort = await client.websocketConnect("/own", {
      headers: { origin: "https://app.example:443", host: "APP.example" },
    });
    assert.equal(await noPort.receive(), "own");
    for (const origin of [
      "https://evil.example",
      "https://app.example:8443",
      "http://app.example",
      "null",
      "not a url",
    ]) {
      const refused = await refusal(
        client.websocketConnect("/own", { headers: { origin, host: "app.example:443" } }),
      );
      assert.equal(refused.statusCode, 403, origin);
      assert.match(refused.body, /may not open a WebSocket on \/own/);
    }
    // Another port on the same host is another origin.
    const otherPort = client.url.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);
    const refusedPort = await refusal(
      client.websocketConnect("/own", { headers: { origin: otherPort } }),
    );
    assert.equal(refusedPort.statusCode, 403);
    // A Host without a port says nothing of the scheme (a TLS-terminating proxy in front):
    // the Origin's own default port is assumed, so http and https pages of that host pass.
    for (const origin of ["http://app.example", "https://app.example"]) {
      const allowed = await client.websocketConnect("/own", {
        headers: { origin, host: "app.example" },
      });
      assert.equal(await allowed.receive(), "own", origin);
    }
    const noOrigin = await client.websocketConnect("/own");
    assert.equal(await noOrigin.receive(), "own");
    const any = await client.websocketConnect("/any", {
      headers: { origin: "https://elsewhere.example" },
    });
    assert.equal(await any.receive(), "any");
  });

  test("protocols: the first client-offered protocol the server speaks is chosen; none acceptable upgrades without one, or 400 with requireProtocol", async () => {
    const app = quietApp();
    const chosen: string[] = [];
    const handler = async (socket: SluiceWebSocket) => {
      chosen.push(socket.protocol);
      await socket.send(socket.protocol);
    };
    app.websocket("/chat", { protocols: ["chat.v2", "chat.v1"] }, handler);
    app.websocket("/strict", { protocols: ["chat.v1"], requireProtocol: true }, handler);
    await using client = await TestClient.start(app);
    const v1 = await client.websocketConnect("/chat", { protocols: ["chat.v1", "chat.v2"] });
    assert.equal(v1.protocol, "chat.v1");
    assert.equal(await v1.receive(), "chat.v1");
    const v2 = await client.websocketConnect("/chat", { protocols: ["other", "chat.v2"] });
    assert.equal(v2.protocol, "chat.v2");
    const bare = await client.websocketConnect("/chat");
    assert.equal(bare.protocol, "");
    assert.equal(await bare.receive(), "");
    // A client offering only unknown protocols: the upgrade carries none (ws, like browsers,
    // then fails the connection itself), so answer with a raw request to see the 101.
    const unknown = await rawUpgrade(client.url, "/chat", { "sec-websocket-protocol": "x, y" });
    assert.match(unknown, /^HTTP\/1\.1 101 /);
    assert.doesNotMatch(unknown, /sec-websocket-protocol/i);
    const strict = await refusal(client.websocketConnect("/strict", { protocols: ["x"] }));
    assert.equal(strict.statusCode, 400);
    assert.match(strict.body, /chat\.v1/);
    const strictOk = await client.websocketConnect("/strict", { protocols: ["chat.v1"] });
    assert.equal(strictOk.protocol, "chat.v1");
  });

  test("bad handshakes get ws's status: missing key 400, wrong version 400, POST 405; the app keeps serving", async () => {
    const app = quietApp();
    app.websocket("/ws", async (socket) => {
      await socket.send("fine");
    });
    await using client = await TestClient.start(app);
    assert.match(
      await rawUpgrade(client.url, "/ws", { "sec-websocket-key": "" }),
      /^HTTP\/1\.1 400 /,
    );
    assert.match(
      await rawUpgrade(client.url, "/ws", { "sec-websocket-key": "short" }),
      /^HTTP\/1\.1 400 /,
    );
    assert.match(
      await rawUpgrade(client.url, "/ws", { "sec-websocket-version": "12" }),
      /^HTTP\/1\.1 400 /,
    );
    const post = await rawExchange(
      portOf(client.url),
      "POST /ws HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      (received) => received.includes("\r\n\r\n"),
    );
    assert.match(post, /^HTTP\/1\.1 405 /);
    const ws = await client.websocketConnect("/ws");
    assert.equal(await ws.receive(), "fine");
  });

  test("a path with malformed percent-encoding gets 400, not a crash", async () => {
    const app = quietApp();
    app.websocket("/ws/:name", async () => {});
    await using client = await TestClient.start(app);
    assert.equal((await refusal(client.websocketConnect("/ws/%E0%A4%A"))).statusCode, 400);
  });

  test("an upgrade to another protocol (h2c) is served as an ordinary request on a closing connection", async () => {
    const app = quietApp();
    app.get("/plain", () => "plain answer");
    app.websocket("/ws", async () => {});
    await using client = await TestClient.start(app);
    const answer = await rawExchange(
      portOf(client.url),
      "GET /plain HTTP/1.1\r\nhost: x\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.ok(answer.endsWith("plain answer"));
    const withBody = await rawExchange(
      portOf(client.url),
      "POST /plain HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: h2c\r\ncontent-length: 2\r\n\r\nhi",
    );
    assert.match(withBody, /^HTTP\/1\.1 400 /);
  });

  test("a client that leaves while middleware runs: no crash, no handler, nothing left open", async () => {
    const app = quietApp();
    let handlerRan = false;
    app.use(async (_req, next) => {
      await sleep(150);
      return next();
    });
    app.websocket("/slow", async () => {
      handlerRan = true;
    });
    await using client = await TestClient.start(app);
    const pending = client.websocketConnect("/slow");
    pending.catch(() => {});
    await sleep(30);
    // The ws client's socket is not public before the upgrade: end the whole connection attempt.
    const { connect } = await import("node:net");
    const socket = connect(portOf(client.url), "127.0.0.1");
    socket.write(
      "GET /slow HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    await sleep(30);
    socket.resetAndDestroy();
    const ws = await pending;
    await sleep(200);
    assert.equal(handlerRan, true, "the first client's upgrade completed");
    await ws.close();
    await waitFor(() => app.connections.websocket === 0, "no socket left open");
  });
});

describe("limits and failures", () => {
  test("a message over maxPayload closes that socket with 1009; the others go on", async () => {
    const app = quietApp();
    const closes: number[] = [];
    app.websocket("/ws", { maxPayload: 1024 }, async (socket) => {
      for await (const message of socket) await socket.send(message);
      closes.push((await socket.closed).code);
    });
    await using client = await TestClient.start(app);
    const bystander = await client.websocketConnect("/ws");
    const big = await client.websocketConnect("/ws");
    await big.send("x".repeat(1024));
    assert.equal((await big.receive())?.length, 1024, "exactly maxPayload is accepted");
    await big.send("x".repeat(1025));
    assert.equal((await within(big.closed, "the 1009 close")).code, 1009);
    await waitFor(() => closes.length === 1, "the handler to see the close");
    assert.equal(closes[0], 1009);
    await bystander.send("still here");
    assert.equal(await bystander.receive(), "still here");
  });

  test("invalid UTF-8 in a text frame closes with 1007", async () => {
    const app = quietApp();
    app.websocket("/ws", async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/ws");
    ws.raw.send(Buffer.from([0x68, 0xc3, 0x28]), { binary: false });
    assert.equal((await within(ws.closed, "the 1007 close")).code, 1007);
  });

  test("a handler that throws: logged with the request id, socket closed with 1011, other sockets untouched", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/ws", async (socket) => {
      for await (const message of socket) {
        if (message === "boom") throw new Error("handler exploded");
        await socket.send(message);
      }
    });
    await using client = await TestClient.start(app);
    const healthy = await client.websocketConnect("/ws");
    const doomed = await client.websocketConnect("/ws");
    await doomed.send("boom");
    assert.equal((await within(doomed.closed, "the 1011 close")).code, 1011);
    const logged = lines.find((line) => line.err?.message === "handler exploded");
    assert.ok(logged, "the error is logged");
    assert.equal(logged.level, 50);
    assert.ok(logged.reqId, "with the request id");
    await healthy.send("ok");
    assert.equal(await healthy.receive(), "ok");
  });

  test("a handler that returns closes the socket with 1000; socket.close(code, reason) sends its own", async () => {
    const app = quietApp();
    app.websocket("/done", async (socket) => {
      await socket.send("bye");
    });
    app.websocket("/kick", async (socket) => {
      socket.close(4001, "kicked");
      await socket.closed;
    });
    await using client = await TestClient.start(app);
    const done = await client.websocketConnect("/done");
    assert.equal(await done.receive(), "bye");
    assert.equal((await within(done.closed, "the 1000 close")).code, 1000);
    const kicked = await client.websocketConnect("/kick");
    assert.deepEqual(await within(kicked.closed, "the 4001 close"), {
      code: 4001,
      reason: "kicked",
    });
  });

  test("close() refuses codes that cannot be sent and reasons over 123 bytes, with a clear error", async () => {
    const app = quietApp();
    const errors: Error[] = [];
    app.websocket("/ws", async (socket) => {
      for (const [code, reason] of [
        [1005, ""],
        [999, ""],
        [2000, ""],
        [1000.5, ""],
        [1000, "é".repeat(62)],
      ] as const) {
        try {
          socket.close(code, reason);
        } catch (error) {
          errors.push(error as Error);
        }
      }
      await socket.send("still open");
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/ws");
    assert.equal(await ws.receive(), "still open");
    assert.equal(errors.length, 5);
    assert.match(errors[0].message, /close code must be/);
    assert.match(errors[4].message, /123 bytes/);
  });

  test("the client going away ends the handler's loop, runs its finally and aborts socket.signal", async () => {
    const app = quietApp();
    let aborted = false;
    let finallyRan = false;
    app.websocket("/ws", async (socket) => {
      socket.signal.addEventListener("abort", () => {
        aborted = true;
      });
      try {
        for await (const _ of socket) {
        }
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/ws");
    await waitFor(() => app.connections.websocket === 1, "the socket to open");
    ws.raw.terminate();
    await waitFor(() => finallyRan && aborted, "finally and abort after a dropped connection");
    assert.equal(app.connections.websocket, 0);
  });

  test("a handler that reads slowly loses nothing: the peer is throttled, every message arrives in order", async () => {
    const app = quietApp();
    const received: number[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const count = 256;
    app.websocket("/slow", async (socket) => {
      await released;
      for await (const message of socket) {
        received.push((message as Buffer).readUInt32BE(0));
        if (received.length === count) break;
      }
    });
    await using client = await TestClient.start(app);
    try {
      // Uncompressed, so that 16 MiB is 16 MiB on the wire.
      const ws = await client.websocketConnect("/slow", { compression: false });
      for (let i = 0; i < count; i++) {
        const message = Buffer.alloc(64 * 1024);
        message.writeUInt32BE(i, 0);
        ws.raw.send(message);
      }
      // The server stops reading past its 1 MiB high-water mark: once the kernel buffers are
      // full, the rest waits on this side.
      await sleep(300);
      assert.ok(ws.raw.bufferedAmount > 0, "the server pushed back");
    } finally {
      release();
    }
    await waitFor(() => received.length === count, `all ${count} messages`, 5000);
    assert.deepEqual(
      received,
      Array.from({ length: count }, (_, i) => i),
    );
  });
});

describe("heartbeat, slow consumers, shutdown", () => {
  test("a peer that stops answering pings is dropped and its finally runs; a live one stays", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    const finished: string[] = [];
    app.websocket("/ws", { heartbeat: 100 }, async (socket) => {
      try {
        for await (const message of socket) await socket.send(message);
      } finally {
        finished.push(String(socket.request.query.get("who")));
      }
    });
    await using client = await TestClient.start(app);
    const dead = await client.websocketConnect("/ws?who=dead", { answerPings: false });
    const live = await client.websocketConnect("/ws?who=live");
    const closedAt = await waitFor(
      () => finished.includes("dead"),
      "the dead peer to be dropped",
      2000,
    );
    assert.ok(closedAt >= 100, "not before the first ping had its chance");
    assert.equal((await within(dead.closed, "the dead peer's close")).code, 1006);
    assert.ok(lines.some((line) => /did not answer the last ping/.test(line.msg)));
    await sleep(350); // several more intervals
    await live.send("alive");
    assert.equal(await live.receive(), "alive");
    assert.deepEqual(finished, ["dead"]);
  });

  test("a client that does not read is closed with 1013 once what a broadcast queued for it passes maxBuffered", async () => {
    const app = quietApp();
    let sentBytes = 0;
    let refused: unknown;
    let serverSaw: { code: number } | undefined;
    const maxBuffered = 256 * 1024;
    app.websocket("/firehose", { maxBuffered }, async (socket) => {
      const chunk = WebSocketMessage.text("x".repeat(16 * 1024));
      // A broadcaster: it does not await each send, one message per turn of the event loop.
      while (refused === undefined) {
        socket.send(chunk).then(
          () => {},
          (error) => {
            refused ??= error;
          },
        );
        sentBytes += chunk.byteLength;
        await new Promise((resolve) => setImmediate(resolve));
      }
      serverSaw = await socket.closed;
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/firehose", { compression: false });
    ws.raw.pause(); // stop reading: the kernel buffers fill, then the server's
    await waitFor(() => refused !== undefined, "the server to stop sending", 5000);
    assert.ok(refused instanceof WebSocketClosedError, `send refused: ${refused}`);
    // Kernel buffers on both sides hold some; what stays in the process is bounded.
    assert.ok(sentBytes < 64 * 1024 * 1024, `sent ${sentBytes} bytes before the close`);
    ws.raw.resume();
    const closed = await within(ws.closed, "the 1013 close after reading the backlog");
    assert.equal(closed.code, 1013);
    await waitFor(() => serverSaw !== undefined, "the server's close");
    assert.equal(serverSaw?.code, 1013);
  });

  test("awaited sends to a client that does not read wait for it instead of queuing; nothing is lost when it reads again", async () => {
    const app = quietApp();
    let sent = 0;
    let peakBuffered = 0;
    const total = 2000;
    app.websocket("/stream", { maxBuffered: 1024 * 1024 }, async (socket) => {
      const payload = "y".repeat(8 * 1024);
      for (let i = 0; i < total; i++) {
        await socket.send(`${i}:${payload}`);
        sent++;
        peakBuffered = Math.max(peakBuffered, socket.bufferedAmount);
      }
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/stream", { compression: false });
    ws.raw.pause();
    await sleep(300);
    assert.ok(sent < total, `the handler waited (sent ${sent} of ${total})`);
    assert.ok(
      peakBuffered < 1024 * 1024,
      `at most ${peakBuffered} bytes queued, under maxBuffered`,
    );
    ws.raw.resume();
    for (let i = 0; i < total; i++) {
      const message = String(await within(ws.receive(), `message ${i}`));
      assert.equal(message.slice(0, message.indexOf(":")), String(i));
    }
    assert.equal((await within(ws.closed, "the handler's end")).code, 1000);
  });

  test("a client that reads gets bursts larger than maxBuffered: one big message, a tight loop of awaited sends", async () => {
    const app = quietApp();
    const maxBuffered = 1024 * 1024;
    app.websocket("/burst", { maxBuffered }, async (socket) => {
      await socket.send(Buffer.alloc(3 * maxBuffered, 7));
      for (let i = 0; i < 6000; i++) await socket.send(`${i}:${"z".repeat(1024)}`);
      await socket.send("end");
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/burst", { compression: false });
    const big = (await within(ws.receive(), "the big message")) as Buffer;
    assert.equal(big.length, 3 * maxBuffered);
    for (let i = 0; i < 6000; i++) {
      const message = String(await within(ws.receive(), `message ${i}`));
      assert.equal(message.slice(0, message.indexOf(":")), String(i));
    }
    assert.equal(await ws.receive(), "end");
    assert.equal((await within(ws.closed, "the handler's end")).code, 1000);
  });

  test("a handler that never reads: a peer that sent over 1 MiB is paused, then closed with 1013 after the unread timeout", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let finallyRan = false;
    app.websocket("/sink", { heartbeat: 150 }, async (socket) => {
      try {
        await socket.closed; // sends nothing, reads nothing
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/sink", { compression: false });
    for (let i = 0; i < 24; i++) ws.raw.send(Buffer.alloc(64 * 1024));
    const closed = await within(ws.closed, "the close of a peer nobody reads", 3000);
    assert.equal(closed.code, 1013);
    await waitFor(() => finallyRan, "the handler's finally");
    assert.equal(app.connections.websocket, 0);
    assert.ok(lines.some((line) => /unread too long/.test(line.msg)));
  });

  test("closing a socket whose peer is paused (its messages unread) completes the handshake at once", async () => {
    const app = quietApp();
    const busy = gate();
    app.websocket("/busy", { closeTimeout: 3000 }, async (socket) => {
      await busy.opened; // not reading
      socket.close(4000, "done");
    });
    const client = await TestClient.start(app);
    const ws = await client.websocketConnect("/busy", { compression: false });
    for (let i = 0; i < 24; i++) ws.raw.send(Buffer.alloc(64 * 1024));
    await sleep(100);
    const started = performance.now();
    busy.open();
    const closed = await within(ws.closed, "the close");
    assert.equal(closed.code, 4000);
    await waitFor(() => app.connections.websocket === 0, "the server side to close", 1000);
    assert.ok(performance.now() - started < 1000, "well before the 3 s close timeout");
    await client.close();
  });

  test("app.close() sends 1001 to every socket, waits for the handshakes and runs every finally", async () => {
    const app = quietApp();
    const finallyRan: string[] = [];
    app.websocket("/ws", seedHandler(finallyRan));
    const client = await TestClient.start(app);
    const sockets = await Promise.all([1, 2, 3].map(() => client.websocketConnect("/ws")));
    for (const ws of sockets) await ws.receiveJson();
    assert.equal(app.connections.websocket, 3);
    await app.close({ timeout: 2000 });
    for (const ws of sockets) {
      assert.deepEqual(await within(ws.closed, "the 1001 close"), {
        code: 1001,
        reason: "Server shutting down",
      });
    }
    assert.equal(finallyRan.length, 3);
    assert.equal(app.connections.websocket, 0);
    await client.close();
  });

  test("app.close() cuts a peer that never answers the close after the timeout", async () => {
    const app = quietApp();
    let finallyRan = false;
    app.websocket("/ws", async (socket) => {
      try {
        for await (const _ of socket) {
        }
      } finally {
        finallyRan = true;
      }
    });
    const client = await TestClient.start(app);
    const ws = await client.websocketConnect("/ws");
    await waitFor(() => app.connections.websocket === 1, "the socket to open");
    ws.raw.pause(); // never reads the close frame, never answers
    const started = performance.now();
    await app.close({ timeout: 300 });
    const took = performance.now() - started;
    assert.ok(took < 2000, `close took ${took} ms`);
    assert.equal(finallyRan, true);
    assert.equal(app.connections.websocket, 0);
    ws.raw.resume();
    assert.equal((await within(ws.closed, "the client to see the end")).code !== 1000, true);
    await client.close();
  });

  test("an upgrade whose middleware finishes after app.close() began gets 503, no socket", async () => {
    const app = quietApp();
    const middlewareEntered = gate();
    const release = gate();
    let handlerRan = false;
    app.use(async (_req, next) => {
      middlewareEntered.open();
      await release.opened;
      return next();
    });
    app.websocket("/ws", async () => {
      handlerRan = true;
    });
    const client = await TestClient.start(app);
    const pending = refusal(client.websocketConnect("/ws"));
    await middlewareEntered.opened;
    const closing = app.close({ timeout: 2000 });
    release.open();
    const refused = await pending;
    assert.equal(refused.statusCode, 503);
    await closing;
    assert.equal(handlerRan, false);
    await client.close();
  });

  test("app.handle and app.handleUpgrade mount the app on a server of your own", async () => {
    const app = quietApp();
    app.get("/plain", () => "http");
    app.websocket("/ws", async (socket) => {
      await socket.send("ws");
    });
    const server = createServer(app.handle);
    server.on("upgrade", app.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/plain`)).text(), "http");
      const ws = await TestWebSocket.connect(`ws://127.0.0.1:${port}/ws`);
      assert.equal(await ws.receive(), "ws");
      await ws.closed;
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("a WebSocket outlives the HTTP request timeouts", async () => {
    const app = quietApp({ requestTimeout: 300, headersTimeout: 200 });
    app.websocket("/ws", async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/ws");
    await sleep(1200);
    await ws.send("still here");
    assert.equal(await ws.receive(), "still here");
  });

  test("app.connections counts open WebSockets and SSE streams", async () => {
    const app = quietApp();
    app.websocket("/ws", async (socket) => {
      for await (const _ of socket) {
      }
    });
    app.sse("/events", async function* (req) {
      yield "hello";
      await new Promise((resolve) => req.signal.addEventListener("abort", resolve));
    });
    await using client = await TestClient.start(app);
    assert.deepEqual(app.connections, { websocket: 0, sse: 0 });
    const ws = await client.websocketConnect("/ws");
    const events = client.events("/events");
    await events.next();
    await waitFor(() => app.connections.websocket === 1, "one WebSocket");
    assert.deepEqual(app.connections, { websocket: 1, sse: 1 });
    await events.close();
    await ws.close();
    await waitFor(
      () => app.connections.websocket === 0 && app.connections.sse === 0,
      "both to be counted out",
    );
  });

  test("compression: true negotiates permessage-deflate; off by default", async () => {
    const app = quietApp();
    const echo = async (socket: SluiceWebSocket) => {
      for await (const message of socket) await socket.send(message);
    };
    app.websocket("/deflate", { compression: true }, echo);
    app.websocket("/plain", echo);
    await using client = await TestClient.start(app);
    const deflated = await client.websocketConnect("/deflate");
    assert.match(deflated.extensions, /permessage-deflate/);
    const text = "compressible ".repeat(10_000);
    await deflated.send(text);
    assert.equal(await deflated.receive(), text);
    const plain = await client.websocketConnect("/plain");
    assert.equal(plain.extensions, "");
  });

  test("frames written straight to the socket: every payload-length encoding, text and binary, alone and corked, compressed or not, with a prepared message shared", async () => {
    const app = quietApp();
    // Lengths at each boundary of the frame header (7-bit, 16-bit, 64-bit lengths) and of
    // the copy-behind-the-header limit (16 KiB).
    const lengths = [0, 1, 125, 126, 127, 16_384, 16_385, 65_535, 65_536, 200_000];
    const payloads = lengths.flatMap((length) => [
      "é".repeat(Math.floor(length / 2)) + "x".repeat(length % 2),
      Buffer.alloc(length, length % 251),
    ]);
    const shared = WebSocketMessage.text("shared by every socket");
    const sendAll = async (socket: SluiceWebSocket) => {
      await socket.receive();
      // One turn: the first frame is written alone, the others corked together.
      for (const payload of payloads) void socket.send(payload);
      void socket.send(shared);
      await socket.send(shared);
      await socket.closed;
    };
    app.websocket("/plain", sendAll);
    app.websocket("/deflate", { compression: true }, sendAll);
    await using client = await TestClient.start(app);
    for (const path of ["/plain", "/deflate"]) {
      const ws = await client.websocketConnect(path);
      await ws.send("go");
      for (const expected of payloads) {
        const got = await ws.receive();
        if (typeof expected === "string") assert.equal(got, expected, `${path}: text`);
        else assert.deepEqual(got, expected, `${path}: ${expected.length} bytes`);
      }
      assert.equal(await ws.receive(), "shared by every socket");
      assert.equal(await ws.receive(), "shared by every socket");
      await ws.close();
    }
  });

  test("invalid route options are refused when the route is added", () => {
    const app = quietApp();
    const handler = async () => {};
    assert.throws(() => app.websocket("/a", { maxPayload: 0 }, handler), /maxPayload/);
    assert.throws(() => app.websocket("/b", { heartbeat: -1 }, handler), /heartbeat/);
    assert.throws(() => app.websocket("/c", { heartbeat: 1.5 }, handler), /heartbeat/);
    assert.throws(() => app.websocket("/d", { maxBuffered: Number.NaN }, handler), /maxBuffered/);
    assert.throws(() => app.websocket("/e", { protocols: ["has space"] }, handler), /subprotocol/);
    assert.throws(
      () => app.websocket("/f", { origins: ["https://a.example/path"] }, handler),
      /not an origin/,
    );
    assert.throws(
      () => app.websocket("/g", { origins: "https://a.example" as never }, handler),
      /origins/,
    );
    assert.throws(() => app.websocket("/h", {} as never), /handler function/);
    assert.throws(
      () => app.websocket("/i", { compression: "yes" as never }, handler),
      /compression/,
    );
    app.websocket("/ok", handler);
    assert.throws(() => app.websocket("/ok", handler), /already registered/);
  });
});
