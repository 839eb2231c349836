import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { portOf, rawExchange } from "./support/raw-http.js";

function routedApp() {
  const app = quietApp();
  app.get("/users/:id", (req) => ({ route: "user", id: req.params.id, q: req.query.get("q") }));
  app.get("/users/new", () => ({ route: "new-user-form" }));
  app.post("/users/:id", (req) => ({ route: "update", id: req.params.id }));
  app.get("/users/:id/posts/:postId", (req) => ({ ...req.params }));
  app.get("/files/*", (req) => ({ rest: req.params["*"] }));
  app.put("/items", () => "put");
  app.patch("/items", () => "patch");
  app.delete("/items", () => "delete");
  app.options("/items", () => HttpResponse.empty(204, { "x-custom-options": "yes" }));
  app.route("get", "/café", () => "accented");
  app.all("/any", (req) => req.method);
  app.addRoute(
    { method: "GET", path: "/stream", handler_name: "stream", is_async: true },
    () => "seed",
  );
  return app;
}

describe("routing", () => {
  test("path params are decoded and the query is parsed", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.get("/users/a%20b", { query: { q: "x y" } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { route: "user", id: "a b", q: "x y" });
  });

  test("a static segment wins over a param, and backtracks to the param for other methods", async () => {
    await using client = await TestClient.start(routedApp());
    assert.deepEqual((await client.get("/users/new")).json(), { route: "new-user-form" });
    assert.deepEqual((await client.post("/users/new")).json(), { route: "update", id: "new" });
  });

  test("several params; an encoded slash in a segment is refused (it would change the segments)", async () => {
    await using client = await TestClient.start(routedApp());
    assert.deepEqual((await client.get("/users/a%40b/posts/7")).json(), { id: "a@b", postId: "7" });
    const res = await client.get("/users/a%2Fb/posts/7");
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /encoded \/ or \\/);
  });

  test("wildcard captures the rest of the path", async () => {
    await using client = await TestClient.start(routedApp());
    assert.deepEqual((await client.get("/files/a/b/c.txt")).json(), { rest: "a/b/c.txt" });
    assert.deepEqual((await client.get("/files")).json(), { rest: "" });
  });

  test("a percent-encoded path matches a route written with the decoded text", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.get("/caf%C3%A9");
    assert.equal(res.statusCode, 200);
    assert.equal(res.text(), "accented");
  });

  test("put, patch, delete, all and the seed's addRoute", async () => {
    await using client = await TestClient.start(routedApp());
    assert.equal((await client.put("/items")).text(), "put");
    assert.equal((await client.patch("/items")).text(), "patch");
    assert.equal((await client.delete("/items")).text(), "delete");
    assert.equal((await client.request("POST", "/any")).text(), "POST");
    assert.equal((await client.get("/stream")).text(), "seed");
  });

  test("unknown path is 404 with a JSON error naming the request id", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.get("/nope");
    assert.equal(res.statusCode, 404);
    const body = res.json<{ error: string; message: string; requestId: string }>();
    assert.equal(body.error, "Not Found");
    assert.match(body.message, /GET \/nope/);
    assert.equal(body.requestId, res.headers["x-request-id"]);
  });

  test("known path with a wrong method is 405 with Allow", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.delete("/users/1");
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, "GET, POST, HEAD");
    assert.equal(res.json<{ error: string }>().error, "Method Not Allowed");
  });

  test("Allow lists the methods of every route whose pattern matches the path", async () => {
    await using client = await TestClient.start(routedApp());
    // GET /users/new is static; POST /users/:id also matches this path.
    const res = await client.put("/users/new");
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, "GET, POST, HEAD");
  });

  test("OPTIONS on a known path without an OPTIONS route answers 204 with Allow", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.request("OPTIONS", "/users/1");
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers.allow, "GET, POST, HEAD");
    const own = await client.request("OPTIONS", "/items");
    assert.equal(own.headers["x-custom-options"], "yes");
  });

  test("HEAD runs the GET handler and sends headers without a body", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.head("/users/9");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(
      Number(res.headers["content-length"]),
      JSON.stringify({ route: "user", id: "9", q: null }).length,
    );
    assert.equal(res.bytes().length, 0);
  });

  test("malformed percent-encoding in the path is 400", async () => {
    await using client = await TestClient.start(routedApp());
    const res = await client.get("/users/%E0%A4%A");
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /percent-encoding/);
  });

  test("an absolute-form request target is routed by its path", async () => {
    await using client = await TestClient.start(routedApp());
    const answer = await rawExchange(
      portOf(client.url),
      "GET http://127.0.0.1/users/7?q=abs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /"id":"7","q":"abs"/);
  });

  test("trailing slash is a different path", async () => {
    await using client = await TestClient.start(routedApp());
    assert.equal((await client.get("/users/1/")).statusCode, 404);
  });
});

describe("route registration errors", () => {
  test("duplicate route throws", () => {
    const app = quietApp();
    app.get("/a", () => 1);
    assert.throws(() => app.get("/a", () => 2), /already registered/);
  });
  test("conflicting param names at one position throw", () => {
    const app = quietApp();
    app.get("/a/:id", () => 1);
    assert.throws(() => app.post("/a/:name", () => 2), /conflicts with ":id"/);
  });
  test("wildcard not last, bad path, bad method, missing handler", () => {
    const app = quietApp();
    assert.throws(() => app.get("/a/*/b", () => 1), /must be the last segment/);
    assert.throws(() => app.get("a", () => 1), /must start with "\/"/);
    assert.throws(() => app.route("GE T", "/x", () => 1), /Invalid HTTP method/);
    assert.throws(() => app.get("/x", undefined as never), /needs a handler function/);
    assert.throws(() => app.get("/:1x", () => 1), /invalid parameter name/);
  });
  test("addRoute with method WS (any case) adds a WebSocket route, not an HTTP one; a bad WS route is refused", () => {
    const app = quietApp();
    app.addRoute({ method: "ws", path: "/ws", handler_name: "ws", is_async: true }, () => 1);
    assert.throws(
      () => app.addRoute({ method: "WS", path: "/ws", handler_name: "again" }, () => 1),
      /already registered/,
    );
    assert.throws(
      () => app.addRoute({ method: "WS", path: "/none" }, undefined as never),
      /WebSocket route \/none needs a handler function/,
    );
    // An HTTP GET on the same path is still free.
    app.get("/ws", () => 1);
  });
});
