import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, bearerAuth, HttpError, type Middleware } from "../src/index.js";
import { TestClient, WebSocketUpgradeError } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";

/** A guard that refuses with 401 unless the request says `x-pass: yes`, and records its calls. */
function recordingGuard(seen: string[]): Middleware {
  return (req, next) => {
    seen.push(req.path);
    if (req.header("x-pass") !== "yes") throw new HttpError(401, "guarded");
    return next();
  };
}

const PASS = { headers: { "x-pass": "yes" } };

describe("app.use(path, middleware): middleware for the paths a route pattern matches", () => {
  test("/admin/* guards /admin itself, /admin/ and everything under it, not /administrator", async () => {
    const app = quietApp();
    const seen: string[] = [];
    app.use("/admin/*", recordingGuard(seen));
    for (const path of ["/admin", "/admin/", "/admin/users", "/administrator", "/public"]) {
      app.get(path, () => ({ path }));
    }
    await using client = await TestClient.start(app);
    for (const path of ["/admin", "/admin/", "/admin/users"]) {
      assert.equal((await client.get(path)).statusCode, 401, `${path} is guarded`);
      assert.deepEqual((await client.get(path, PASS)).json(), { path });
    }
    for (const path of ["/administrator", "/public"]) {
      assert.deepEqual((await client.get(path)).json(), { path }, `${path} is not guarded`);
    }
    assert.deepEqual(seen, [
      "/admin",
      "/admin",
      "/admin/",
      "/admin/",
      "/admin/users",
      "/admin/users",
    ]);
  });

  test("a 404 or 405 under the pattern is guarded too: the guard does not reveal which routes exist", async () => {
    const app = quietApp();
    app.use("/admin/*", recordingGuard([]));
    app.get("/admin/users", () => "users");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/admin/nope")).statusCode, 401);
    assert.equal((await client.post("/admin/users")).statusCode, 401);
    assert.equal((await client.get("/admin/nope", PASS)).statusCode, 404);
    assert.equal((await client.post("/admin/users", PASS)).statusCode, 405);
    assert.equal((await client.get("/elsewhere")).statusCode, 404, "no guard outside");
  });

  test("the pattern is matched on the canonical path the router routes: /%61dmin is /admin", async () => {
    const app = quietApp();
    app.use("/admin/*", recordingGuard([]));
    app.use("/café/*", recordingGuard([]));
    app.get("/admin/users", () => "users");
    app.get("/café/menu", () => "menu");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/%61dmin/users")).statusCode, 401);
    assert.equal((await client.get("/%61dmin/users", PASS)).text(), "users");
    assert.equal((await client.get("/caf%C3%A9/menu")).statusCode, 401);
    assert.equal((await client.get("/caf%C3%A9/menu", PASS)).text(), "menu");
  });

  test("empty segments cannot walk around a guard under a wildcard route: /files//private/x is guarded", async () => {
    const app = quietApp();
    const seen: string[] = [];
    app.use("/files/private/*", recordingGuard(seen));
    app.get("/files/*", (req) => ({ rest: req.params["*"] }));
    await using client = await TestClient.start(app);
    for (const path of ["/files/private/x", "/files//private/x", "/files///private//x"]) {
      assert.equal((await client.get(path)).statusCode, 401, `${path} is guarded`);
    }
    assert.deepEqual((await client.get("/files/public/x")).json(), { rest: "public/x" });
    assert.equal(seen.length, 3);
  });

  test("global and scoped middleware run in the order they were added", async () => {
    const app = quietApp();
    const order: string[] = [];
    const step =
      (name: string): Middleware =>
      (_req, next) => {
        order.push(name);
        return next();
      };
    app.use(step("global 1"));
    app.use("/api/*", step("api"));
    app.use(step("global 2"));
    app.use("/api/items/:id", step("one item"));
    app.use("/other/*", step("other"));
    app.get("/api/items/:id", () => "item");
    app.get("/home", () => "home");
    await using client = await TestClient.start(app);
    await client.get("/api/items/3");
    assert.deepEqual(order, ["global 1", "api", "global 2", "one item"]);
    order.length = 0;
    await client.get("/home");
    assert.deepEqual(order, ["global 1", "global 2"]);
  });

  test("a :param pattern matches any value of its segment", async () => {
    const app = quietApp();
    app.use("/orgs/:org/*", (req, next) => {
      req.setResponseHeader("x-org-scope", "yes");
      return next();
    });
    app.get("/orgs/:org/members", (req) => ({ org: req.params.org }));
    app.get("/orgs", () => "list");
    await using client = await TestClient.start(app);
    const members = await client.get("/orgs/acme/members");
    assert.equal(members.headers["x-org-scope"], "yes");
    assert.deepEqual(members.json(), { org: "acme" });
    assert.equal((await client.get("/orgs")).headers["x-org-scope"], undefined);
  });

  test("it runs before SSE routes and WebSocket upgrades under its pattern, and leaves the others open", async () => {
    const app = quietApp();
    app.use(
      "/private/*",
      bearerAuth({ verify: (token) => (token === "good" ? { user: "ada" } : undefined) }),
    );
    for (const prefix of ["/private", "/public"]) {
      app.sse(`${prefix}/events`, async function* (req) {
        yield { auth: req.state.auth ?? null };
      });
      app.websocket(`${prefix}/ws`, async (socket, req) => {
        await socket.sendJson({ auth: req.state.auth ?? null });
      });
    }
    await using client = await TestClient.start(app);
    const refused = client.events("/private/events");
    assert.equal((await refused.response).statusCode, 401);
    await assert.rejects(
      client.websocketConnect("/private/ws"),
      (error) => error instanceof WebSocketUpgradeError && error.statusCode === 401,
    );

    const headers = { authorization: "Bearer good" };
    const events = client.events("/private/events", { headers });
    assert.deepEqual(JSON.parse((await events.take(1))[0].data), { auth: { user: "ada" } });
    await events.close();
    const socket = await client.websocketConnect("/private/ws", { headers });
    assert.deepEqual(await socket.receiveJson(), { auth: { user: "ada" } });
    await socket.close();

    const open = client.events("/public/events");
    assert.deepEqual(JSON.parse((await open.take(1))[0].data), { auth: null });
    await open.close();
    const openSocket = await client.websocketConnect("/public/ws");
    assert.deepEqual(await openSocket.receiveJson(), { auth: null });
    await openSocket.close();
  });

  test("a pattern without * guards one path: listen() warns, once, when routes beneath it stay unguarded", async () => {
    const { logger, lines } = capturedLogger("warn");
    const app = new App({ logger });
    const pass: Middleware = (_req, next) => next();
    app.use("/admin", recordingGuard([]));
    app.use("/admin", pass); // the same pattern twice: one warning
    app.use("/health", pass); // nothing beneath it: no warning
    app.use("/api/*", pass); // a subtree: no warning
    app.get("/admin", () => "home");
    app.get("/admin/users", () => "users");
    app.websocket("/admin/live", async () => {});
    app.get("/health", () => "ok");
    app.get("/api/items", () => []);
    await using client = await TestClient.start(app);
    const warnings = lines.filter((line) => line.level === 40);
    assert.deepEqual(
      warnings.map((line) => line.msg),
      [
        'app.use("/admin", ...) guards the path /admin only, not the routes beneath it ' +
          '(/admin/users, /admin/live); to guard them too, write app.use("/admin/*", ...)',
      ],
    );
    // What the warning says is what happens.
    assert.equal((await client.get("/admin")).statusCode, 401);
    assert.equal((await client.get("/admin/users")).statusCode, 200);
  });

  test("bad arguments are refused when the middleware is added, with what to write instead", () => {
    const app = quietApp();
    const pass: Middleware = (_req, next) => next();
    assert.throws(() => app.use("admin/*", pass), {
      name: "TypeError",
      message: /must be a route pattern starting with "\/" \(like "\/admin\/\*"\), got "admin\/\*"/,
    });
    assert.throws(() => app.use("/a/*/b", pass), {
      name: "TypeError",
      message: /app\.use\("\/a\/\*\/b", middleware\): .*"\*" wildcard must be the last segment/,
    });
    assert.throws(() => app.use("/users/:1d", pass), {
      name: "TypeError",
      message: /invalid parameter name ":1d"/,
    });
    // @ts-expect-error: the middleware is missing, which the types say too
    assert.throws(() => app.use("/admin/*"), {
      name: "TypeError",
      message: 'app.use("/admin/*", middleware) takes a middleware function after the path',
    });
    // Spellings that would silently guard nothing under the prefix.
    assert.throws(() => app.use("/admin*", pass), {
      name: "TypeError",
      message:
        'app.use("/admin*", middleware): "*" stands for a whole subtree, after a "/": write "/admin/*"',
    });
    assert.throws(() => app.use("/api/", pass), {
      name: "TypeError",
      message:
        /a trailing "\/" matches only that exact path; write "\/api\/\*" to guard everything under it/,
    });
    assert.throws(() => app.use(42 as unknown as string, pass), {
      name: "TypeError",
      message: /got 42/,
    });
    assert.throws(() => app.use({} as Middleware), {
      name: "TypeError",
      message: "app.use() takes a middleware function",
    });
  });
});
