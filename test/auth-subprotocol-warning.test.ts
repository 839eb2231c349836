// bearerAuth/jwtAuth with `subprotocol` need the WebSocket route to list that marker in its
// `protocols`; otherwise browsers fail the handshake and, before this warning, the server said
// nothing. The warning names the route and the option, once per route: when the app starts
// listening, or at the first upgrade for auth the start-up check cannot see (wrapped).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import WebSocket from "ws";
import { App, bearerAuth, type Middleware, type WebSocketOptions } from "../src/index.js";
import { jwtAuth } from "../src/jwt/index.js";
import { TestClient } from "../src/testing/index.js";
import { capturedLogger, type LogLine } from "./support/logging.js";
import { within } from "./support/wait.js";

const TOKEN = "good.token-1";
const verify = (token: string) => (token === TOKEN ? { user: "ada" } : undefined);

function warnings(lines: LogLine[]): LogLine[] {
  return lines.filter((line) => line.level === 40);
}

/**
 * An app behind `auth` with WebSocket routes /a and /b, both with `options`; `scope` puts the
 * auth on that path pattern only.
 */
async function serve(auth: Middleware, options: WebSocketOptions, scope?: string) {
  const { logger, lines } = capturedLogger();
  const app = new App({ logger });
  // Routes first, middleware after: the order of registration does not matter.
  for (const path of ["/a", "/b"]) {
    app.websocket(path, options, async (socket) => {
      await socket.sendJson({ auth: socket.request.state.auth, protocol: socket.protocol });
    });
  }
  if (scope === undefined) app.use(auth);
  else app.use(scope, auth);
  return { client: await TestClient.start(app), lines };
}

/** A browser-like `ws` client offering [marker, token]; resolves once it opened or failed. */
async function connect(client: TestClient, path: string, protocols: string[]): Promise<string> {
  const ws = new WebSocket(`${client.url.replace(/^http/, "ws")}${path}`, protocols);
  const outcome = await within(
    new Promise<string>((resolve) => {
      ws.on("open", () => resolve(`open:${ws.protocol}`));
      ws.on("error", (error) => resolve(`error:${error.message}`));
    }),
    `the handshake of ${path}`,
  );
  ws.terminate();
  return outcome;
}

describe("auth that reads the token from the subprotocol list, on a route that does not list the marker", () => {
  test("at start-up, one warning per route, naming the route, the marker and the protocols option", async () => {
    const { client, lines } = await serve(bearerAuth({ verify, subprotocol: "bearer" }), {});
    await using _ = client;
    // Before any client came: listen() checked each route against its middleware.
    assert.deepEqual(
      warnings(lines).map((line) => line.route),
      ["/a", "/b"],
    );
    for (let i = 0; i < 3; i++) {
      assert.equal(
        await connect(client, "/a", ["bearer", TOKEN]),
        "error:Server sent no subprotocol",
      );
    }
    await connect(client, "/b", ["bearer", TOKEN]);
    // Still once per route.
    assert.equal(warnings(lines).length, 2, JSON.stringify(warnings(lines)));
    const [warning] = warnings(lines);
    assert.equal(warning.route, "/a");
    assert.equal(warning.subprotocol, "bearer");
    assert.equal(
      warning.msg,
      'WebSocket route /a: the auth middleware takes its token from the "bearer" subprotocol, ' +
        'but the route\'s protocols option does not list "bearer", so browsers that offer it ' +
        'fail the handshake ("Server sent no subprotocol"). Set protocols: ' +
        'app.websocket("/a", { protocols: ["bearer"] }, handler)',
    );
  });

  test("auth scoped to one route warns about that route only", async () => {
    const { client, lines } = await serve(bearerAuth({ verify, subprotocol: "bearer" }), {}, "/a");
    await using _ = client;
    assert.deepEqual(
      warnings(lines).map((line) => line.route),
      ["/a"],
    );
    const ws = await client.websocketConnect("/b");
    assert.deepEqual(await ws.receiveJson(), { protocol: "" });
    assert.equal(warnings(lines).length, 1);
  });

  test("auth wrapped in a middleware of the user's own is caught at its first upgrade, once", async () => {
    const auth = bearerAuth({ verify, subprotocol: "bearer" });
    const wrapped: Middleware = (req, next) => auth(req, next);
    const { client, lines } = await serve(wrapped, {});
    await using _ = client;
    assert.deepEqual(warnings(lines), [], "the wrapper hides the marker from the start-up check");
    for (let i = 0; i < 2; i++) {
      assert.equal(
        await connect(client, "/a", ["bearer", TOKEN]),
        "error:Server sent no subprotocol",
      );
    }
    assert.deepEqual(
      warnings(lines).map((line) => line.route),
      ["/a"],
    );
  });

  test("the fix it names keeps the route's own protocols and adds the marker", async () => {
    const { client, lines } = await serve(bearerAuth({ verify, subprotocol: "bearer" }), {
      protocols: ["chat.v1"],
    });
    await using _ = client;
    // A client that also speaks chat.v1 gets through, but one that offers only the marker fails.
    assert.equal(await connect(client, "/a", ["chat.v1", "bearer", TOKEN]), "open:chat.v1");
    assert.equal(warnings(lines).length, 2);
    assert.match(warnings(lines)[0].msg, /\{ protocols: \["chat\.v1", "bearer"\] \}/);
  });

  test("no warning when the route lists the marker, nor for auth that takes no token from the protocols", async () => {
    const listed = await serve(bearerAuth({ verify, subprotocol: "bearer" }), {
      protocols: ["bearer"],
    });
    await using _listed = listed.client;
    assert.equal(await connect(listed.client, "/a", ["bearer", TOKEN]), "open:bearer");
    // A token in the header on the same route: nothing to warn about either.
    const ws = await listed.client.websocketConnect("/b", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.deepEqual(await ws.receiveJson(), { auth: { user: "ada" }, protocol: "" });
    assert.deepEqual(warnings(listed.lines), []);

    const headerOnly = await serve(bearerAuth({ verify }), {});
    await using _headerOnly = headerOnly.client;
    const plain = await headerOnly.client.websocketConnect("/a", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.deepEqual(await plain.receiveJson(), { auth: { user: "ada" }, protocol: "" });
    assert.deepEqual(warnings(headerOnly.lines), []);
  });

  test("jwtAuth's subprotocol is checked the same way", async () => {
    const secret = new TextEncoder().encode("a-secret-of-at-least-32-bytes-long!!");
    const token = await new SignJWT({ sub: "ada" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(secret);
    const { client, lines } = await serve(
      jwtAuth({ secret, algorithms: ["HS256"], subprotocol: "jwt" }),
      {},
    );
    await using _ = client;
    assert.equal(await connect(client, "/a", ["jwt", token]), "error:Server sent no subprotocol");
    assert.equal(warnings(lines).length, 2);
    assert.match(warnings(lines)[0].msg, /"jwt" subprotocol.*\{ protocols: \["jwt"\] \}/);
  });
});
