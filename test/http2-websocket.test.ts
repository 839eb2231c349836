// WebSockets over every protocol the app listens on: the same tests over HTTP/1.1 and
// HTTPS/1.1 (an upgrade, a connection per socket) and over h2 and h2c (RFC 8441: an extended
// CONNECT, the socket a stream of the one connection the client shares with its requests).
// Same handlers, middleware, route checks, limits, heartbeat, caps, topics and close.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type App,
  type AppOptions,
  bearerAuth,
  CloseCode,
  HttpError,
  type SluiceRequest,
} from "../src/index.js";
import { WebSocketUpgradeError } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import {
  forEachProtocol,
  isHttp2,
  PROTOCOLS,
  type Protocol,
  serveOn,
} from "./support/protocols.js";
import { waitFor } from "./support/wait.js";

/** What the server saw of a socket's handshake: method and HTTP version. */
function handshakeOf(request: SluiceRequest): string {
  return `${request.method} ${request.raw.httpVersion}`;
}

async function refusalOf(opening: Promise<unknown>): Promise<WebSocketUpgradeError> {
  const error = await opening.then(
    () => assert.fail("the handshake was accepted"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof WebSocketUpgradeError, String(error));
  return error;
}

forEachProtocol(PROTOCOLS, (protocol: Protocol) => {
  const version = isHttp2(protocol) ? "2.0" : "1.1";

  async function served(build: (app: App) => void, options?: AppOptions) {
    const app = quietApp(options);
    build(app);
    return { app, client: await serveOn(app, protocol) };
  }

  test("echo, the agreed subprotocol, middleware's state and headers, request id", async () => {
    const { client } = await served((app) => {
      app.use(async (request, next) => {
        (request.state as { user?: string }).user = "ada";
        request.responseHeaders["x-set-by"] = "middleware";
        return next();
      });
      app.websocket("/chat/:room", { protocols: ["chat.v2", "chat.v1"] }, async (socket, req) => {
        const user = (req.state as { user?: string }).user;
        await socket.send(`${handshakeOf(req)} ${req.params.room} ${user}`);
        for await (const message of socket) await socket.send(`echo ${message}`);
      });
    });
    const socket = await client.websocket("/chat/lobby?x=1", { protocols: ["chat.v1"] });
    assert.equal(socket.protocol, "chat.v1");
    assert.equal(await socket.receive(), `GET ${version} lobby ada`);
    await socket.send("hi");
    assert.equal(await socket.receive(), "echo hi");
    await socket.send(Buffer.from([1, 2, 3]));
    assert.deepEqual(await socket.receive(), "echo \u0001\u0002\u0003");
    assert.deepEqual(await socket.close(1000, "done"), { code: 1000, reason: "done" });
  });

  test("middleware's headers and the request id are in the handshake's answer", async () => {
    const { app, client } = await served((app) => {
      app.use(async (request, next) => {
        request.responseHeaders["x-set-by"] = "middleware";
        request.responseHeaders["set-cookie"] = ["a=1", "b=2"];
        return next();
      });
      app.websocket("/ws", async () => {});
    });
    const socket = await client.websocket("/ws", { headers: { "x-request-id": "given-id" } });
    assert.equal(socket.headers["x-set-by"], "middleware");
    assert.deepEqual(socket.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(socket.headers["x-request-id"], "given-id");
    assert.equal((await socket.closed).code, 1000, "the handler returned: closed with 1000");
    await waitFor(() => app.connections.websocket === 0, "the socket to be gone");
  });

  test("a middleware's refusal is an HTTP answer: status, headers and body", async () => {
    const { client } = await served((app) => {
      app.use(bearerAuth({ verify: (token) => (token === "good" ? { sub: "ada" } : undefined) }));
      app.websocket("/ws", async (socket) => {
        await socket.send("in");
      });
    });
    const refused = await refusalOf(client.websocket("/ws"));
    assert.equal(refused.statusCode, 401);
    assert.match(String(refused.headers["www-authenticate"]), /^Bearer realm=/);
    assert.match(refused.body, /401|token|Unauthorized/i);
    assert.ok(refused.headers["x-request-id"], "the refusal carries the request id");
    const socket = await client.websocket("/ws", { headers: { authorization: "Bearer good" } });
    assert.equal(await socket.receive(), "in");
  });

  test("the token in the bearer subprotocol is read from the handshake, as over HTTP/1.1", async () => {
    const { client } = await served((app) => {
      app.use(
        bearerAuth({
          subprotocol: "bearer",
          verify: (token) => (token === "t0k3n" ? { sub: "ada" } : undefined),
        }),
      );
      app.websocket("/ws", { protocols: ["bearer"] }, async (socket, req) => {
        await socket.send(String((req.state as { auth?: { sub: string } }).auth?.sub));
      });
    });
    const socket = await client.websocket("/ws", { protocols: ["bearer", "t0k3n"] });
    assert.equal(socket.protocol, "bearer");
    assert.equal(await socket.receive(), "ada");
    const refused = await refusalOf(client.websocket("/ws", { protocols: ["bearer", "wrong"] }));
    assert.equal(refused.statusCode, 401);
  });

  test("the route's checks: a refused origin is 403, no agreed subprotocol is 400, no route 404", async () => {
    const { client } = await served((app) => {
      app.websocket("/ws", { origins: ["https://good.example"] }, async () => {});
      app.websocket("/strict", { protocols: ["v1"], requireProtocol: true }, async () => {});
    });
    const origin = await refusalOf(
      client.websocket("/ws", { headers: { origin: "https://evil.example" } }),
    );
    assert.equal(origin.statusCode, 403);
    const subprotocol = await refusalOf(client.websocket("/strict", { protocols: ["v9"] }));
    assert.equal(subprotocol.statusCode, 400);
    assert.match(subprotocol.json<{ message: string }>().message, /v9/);
    const missing = await refusalOf(client.websocket("/nowhere"));
    assert.equal(missing.statusCode, 404);
    const good = await client.websocket("/ws", { headers: { origin: "https://good.example" } });
    assert.equal((await good.closed).code, 1000);
  });

  test("a handler's HttpError closes with 4000 + status, a crash with 1011", async () => {
    const { client } = await served((app) => {
      app.websocket("/refuse", async () => {
        throw new HttpError(403, "not yours");
      });
      app.websocket("/crash", async () => {
        throw new Error("boom");
      });
    });
    const refused = await client.websocket("/refuse");
    assert.deepEqual(await refused.closed, { code: 4403, reason: "not yours" });
    const crashed = await client.websocket("/crash");
    assert.deepEqual(await crashed.closed, { code: 1011, reason: "Internal error" });
  });

  test("a message over maxPayload closes the socket with 1009", async () => {
    const { client } = await served((app) => {
      app.websocket("/ws", { maxPayload: 1024 }, async (socket) => {
        for await (const message of socket) await socket.send(String(message).length);
      });
    });
    const socket = await client.websocket("/ws");
    await socket.send("x".repeat(1024));
    assert.equal(await socket.receive(), "1024");
    await socket.send("x".repeat(1025));
    assert.equal((await socket.closed).code, CloseCode.messageTooBig);
  });

  test("heartbeat: a peer that answers pings stays, one that does not is dropped", async () => {
    const heartbeat = 150;
    const { app, client } = await served((app) => {
      app.websocket("/ws", { heartbeat }, async (socket) => {
        for await (const _ of socket);
      });
    });
    const alive = await client.websocket("/ws");
    const dead = await client.websocket("/ws", { answerPings: false });
    try {
      const started = performance.now();
      const deadClosed = await dead.closed;
      // The dead peer goes at the second heartbeat without a pong (docs: "within two heartbeats").
      const after = performance.now() - started;
      assert.ok(after <= heartbeat * 2 + 250, `dropped within two heartbeats (${after} ms)`);
      assert.equal(deadClosed.code, 1006);
      await waitFor(() => app.connections.websocket === 1, "the server to drop the dead peer");
      await new Promise((resolve) => setTimeout(resolve, heartbeat * 3));
      assert.equal(app.connections.websocket, 1, "the live peer stays");
      await alive.send("still here");
    } finally {
      alive.raw.terminate();
      dead.raw.terminate();
    }
  });

  test("awaited sends wait for a peer that stops reading (flow control), and nothing is lost", async () => {
    let sent = 0;
    const { client } = await served((app) => {
      app.websocket("/ws", { maxBuffered: 256 * 1024 }, async (socket) => {
        const chunk = "y".repeat(16 * 1024);
        for (let i = 0; i < 400; i++) {
          await socket.send(`${i} ${chunk}`);
          sent++;
        }
      });
    });
    const socket = await client.websocket("/ws");
    socket.raw.pause(); // TCP's window, or the h2 stream's, fills: the sends wait
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sentWhilePaused = sent;
    assert.ok(sentWhilePaused < 400, `the handler waited (sent ${sentWhilePaused} of 400)`);
    socket.raw.resume();
    for (let i = 0; i < 400; i++) {
      assert.equal(String(await socket.receive()).split(" ")[0], String(i));
    }
    assert.equal((await socket.closed).code, 1000);
  });

  test("a subscriber that stops reading is cut off with 1013 once maxBuffered is passed", async () => {
    const { app, client } = await served((app) => {
      app.websocket("/ws", { maxBuffered: 256 * 1024, heartbeat: 0 }, async (socket) => {
        socket.subscribe("flood");
        await socket.send("subscribed");
        for await (const _ of socket);
      });
    });
    const socket = await client.websocket("/ws");
    assert.equal(await socket.receive(), "subscribed");
    socket.raw.pause();
    const chunk = "z".repeat(16 * 1024);
    // Fan-out cannot wait for one peer: what it holds for a peer that does not read is capped.
    const cutOff = () => app.metrics().slowConsumerCutoffs > 0;
    for (let i = 0; i < 2000 && !cutOff(); i++) {
      await app.publish("flood", chunk);
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(cutOff, "the slow subscriber to be cut off", 5000);
    // The close frame waits behind what was queued: the peer sees the code once it reads.
    socket.raw.resume();
    const closed = await socket.closed;
    assert.equal(closed.code, CloseCode.tryAgainLater);
    assert.match(closed.reason, /too slow/);
  });

  test("topics: a published message reaches every subscribed socket once", async () => {
    const { app, client } = await served((app) => {
      app.websocket("/live", async (socket) => {
        socket.subscribe("news");
        await socket.send("subscribed");
        for await (const _ of socket);
      });
    });
    const sockets = await Promise.all(Array.from({ length: 5 }, () => client.websocket("/live")));
    for (const socket of sockets) assert.equal(await socket.receive(), "subscribed");
    await app.publish("news", { n: 1 });
    await app.publish("news", { n: 2 });
    for (const socket of sockets) {
      assert.deepEqual((await socket.receiveJson<{ data: unknown }>())?.data, { n: 1 });
      assert.deepEqual((await socket.receiveJson<{ data: unknown }>())?.data, { n: 2 });
    }
    await Promise.all(sockets.map((socket) => socket.close()));
    await waitFor(() => app.topicSubscribers === 0, "the subscriptions to end");
  });

  test("app.realtime: a refusal completes the handshake and closes with 4000 + status", async () => {
    const { client } = await served((app) => {
      app.use(bearerAuth({ subprotocol: "bearer", verify: () => undefined }));
      app.realtime("/rt", {});
    });
    const socket = await client.websocket("/rt", { protocols: ["sluice.v1", "bearer", "nope"] });
    assert.equal(socket.protocol, "sluice.v1");
    const closed = await socket.closed;
    assert.equal(closed.code, 4401);
  });

  test("maxConnections: past the cap the socket opens and closes with 1013", async () => {
    const { app, client } = await served(
      (app) => {
        app.websocket("/ws", async (socket) => {
          for await (const _ of socket);
        });
      },
      { maxConnections: 2 },
    );
    const first = await client.websocket("/ws");
    const second = await client.websocket("/ws");
    const third = await client.websocket("/ws");
    assert.equal((await third.closed).code, CloseCode.tryAgainLater);
    await first.close();
    await waitFor(() => app.connections.websocket === 1, "the first socket's place to be free");
    const fourth = await client.websocket("/ws");
    await fourth.send("in");
    assert.equal(app.connections.websocket, 2);
    await Promise.all([second.close(), fourth.close()]);
  });

  test("the client leaving ends the handler and frees the socket", async () => {
    let ended = 0;
    const { app, client } = await served((app) => {
      app.websocket("/ws", async (socket) => {
        try {
          for await (const _ of socket);
        } finally {
          ended++;
        }
      });
    });
    const socket = await client.websocket("/ws");
    await waitFor(() => app.connections.websocket === 1, "the socket to open");
    socket.raw.terminate();
    await waitFor(() => ended === 1 && app.connections.websocket === 0, "the handler to end", 1000);
  });

  test("app.close(): open sockets get 1001 and the close waits for their handlers", async () => {
    let finished = false;
    const app = quietApp();
    app.websocket("/ws", async (socket) => {
      for await (const _ of socket);
      finished = true;
    });
    const client = await serveOn(app, protocol);
    const sockets = [await client.websocket("/ws"), await client.websocket("/ws")];
    await app.close({ timeout: 2000 });
    assert.ok(finished, "the handlers finished within the close");
    for (const socket of sockets) assert.equal((await socket.closed).code, CloseCode.goingAway);
  });
});
