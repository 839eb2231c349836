import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpError, HttpResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { sleep } from "./support/wait.js";

describe("middleware", () => {
  test("runs in order before the handler and passes state on", async () => {
    const app = quietApp();
    const order: string[] = [];
    app.use(async (req, next) => {
      order.push("first");
      req.state.user = "alice";
      return next();
    });
    app.use((_req, next) => {
      order.push("second");
      return next();
    });
    app.get("/me", (req) => {
      order.push("handler");
      return { user: req.state.user };
    });
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/me")).json(), { user: "alice" });
    assert.deepEqual(order, ["first", "second", "handler"]);
  });

  test("auth middleware refuses with 401 before the handler runs", async () => {
    const app = quietApp();
    let handlerRan = false;
    app.use(async (req, next) => {
      if (!req.header("authorization")) {
        throw new HttpError(401, "missing credentials", undefined, {
          headers: { "www-authenticate": "Bearer" },
        });
      }
      return next();
    });
    app.get("/secret", () => {
      handlerRan = true;
      return "secret";
    });
    await using client = await TestClient.start(app);
    const refused = await client.get("/secret");
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers["www-authenticate"], "Bearer");
    assert.equal(refused.json<{ message: string }>().message, "missing credentials");
    assert.equal(handlerRan, false);
    const allowed = await client.get("/secret", { headers: { Authorization: "Bearer x" } });
    assert.equal(allowed.text(), "secret");
  });

  test("sees params, can wrap the result, and can answer without calling next", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      if (req.path === "/short") return HttpResponse.text("short-circuit", { statusCode: 203 });
      const result = (await next()) as Record<string, unknown>;
      return { ...result, wrapped: true, routePath: req.routePath, params: req.params };
    });
    app.get("/items/:id", (req) => ({ id: req.params.id }));
    app.get("/short", () => "never");
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/items/5")).json(), {
      id: "5",
      wrapped: true,
      routePath: "/items/:id",
      params: { id: "5" },
    });
    const short = await client.get("/short");
    assert.equal(short.statusCode, 203);
    assert.equal(short.text(), "short-circuit");
  });

  test("catches handler errors and sets response headers on every kind of answer", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      req.setResponseHeader("Access-Control-Allow-Origin", "*");
      try {
        return await next();
      } catch (error) {
        if (error instanceof HttpError && error.status === 409) return { recovered: true };
        throw error;
      }
    });
    app.get("/conflict", () => {
      throw new HttpError(409);
    });
    app.get("/ok", () => "ok");
    await using client = await TestClient.start(app);
    const recovered = await client.get("/conflict");
    assert.deepEqual(recovered.json(), { recovered: true });
    assert.equal(recovered.headers["access-control-allow-origin"], "*");
    const notFound = await client.get("/missing");
    assert.equal(notFound.statusCode, 404);
    assert.equal(
      notFound.headers["access-control-allow-origin"],
      "*",
      "middleware ran for the 404 too",
    );
  });

  test("calling next() twice is an error (500), not a double response", async () => {
    const app = quietApp();
    app.use(async (_req, next) => {
      await next();
      return next();
    });
    app.get("/", () => "x");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/")).statusCode, 500);
  });

  test("a middleware that calls next() without returning it still answers with the handler's result or error", async () => {
    const app = quietApp();
    app.use((_req, next) => {
      next(); // Koa habit: neither returned nor awaited
    });
    app.get("/ok", async () => {
      await sleep(10);
      return { late: true };
    });
    app.get("/boom", async () => {
      await sleep(10);
      throw new HttpError(418, "nope");
    });
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/ok")).json(), { late: true });
    assert.equal((await client.get("/boom")).statusCode, 418);
    assert.equal((await client.get("/ok")).statusCode, 200, "the process is still up");
  });

  test("next() called twice without awaiting is a 500, never a crash", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      next();
      if (req.query.has("again")) next();
    });
    app.get("/", () => "once");
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/?again")).statusCode, 500);
    assert.equal((await client.get("/")).text(), "once");
  });

  test("a middleware that awaited next() is taken at its word: undefined means 204", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      if (req.path === "/drop") {
        await next();
        return undefined;
      }
      try {
        return await next();
      } catch {
        return undefined; // swallowed on purpose
      }
    });
    app.get("/drop", () => ({ secret: "not sent" }));
    app.get("/gone", () => {
      throw new HttpError(410, "gone");
    });
    await using client = await TestClient.start(app);
    const dropped = await client.get("/drop");
    assert.equal(dropped.statusCode, 204);
    assert.equal(dropped.text(), "");
    assert.equal((await client.get("/gone")).statusCode, 204);
  });

  test("use() rejects what is not a function", () => {
    assert.throws(() => quietApp().use("nope" as never), /middleware function/);
  });
});
