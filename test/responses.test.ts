import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, HttpError, HttpResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";

describe("handler results", () => {
  test("an object is JSON 200 with content-length", async () => {
    const app = quietApp();
    app.get("/", () => ({ ok: true, list: [1, "two"] }));
    await using client = await TestClient.start(app);
    const res = await client.get("/");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(res.headers["content-length"], String(res.bytes().length));
    assert.deepEqual(res.json(), { ok: true, list: [1, "two"] });
  });

  test("null and numbers are JSON too", async () => {
    const app = quietApp();
    app.get("/null", () => null);
    app.get("/n", async () => 42);
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/null")).text(), "null");
    assert.equal((await client.get("/n")).json(), 42);
  });

  test("a string is text/plain; a Buffer is octet-stream; undefined is 204", async () => {
    const app = quietApp();
    app.get("/text", () => "héllo");
    app.get("/bytes", () => Buffer.from([0, 1, 2, 255]));
    app.get("/u8", () => new Uint8Array([9, 8]));
    app.get("/nothing", () => undefined);
    await using client = await TestClient.start(app);
    const text = await client.get("/text");
    assert.equal(text.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(text.text(), "héllo");
    assert.equal(text.headers["content-length"], "6");
    const bytes = await client.get("/bytes");
    assert.equal(bytes.headers["content-type"], "application/octet-stream");
    assert.deepEqual([...bytes.bytes()], [0, 1, 2, 255]);
    assert.deepEqual([...(await client.get("/u8")).bytes()], [9, 8]);
    const nothing = await client.get("/nothing");
    assert.equal(nothing.statusCode, 204);
    assert.equal(nothing.bytes().length, 0);
  });

  test("HttpResponse sets status and headers; json() sends even a string as JSON", async () => {
    const app = quietApp();
    app.post(
      "/created",
      () => new HttpResponse({ id: 1 }, { statusCode: 201, headers: { Location: "/items/1" } }),
    );
    app.get("/json-string", () => HttpResponse.json("just a string", { statusCode: 202 }));
    app.get("/redirect", () => HttpResponse.redirect("/elsewhere", 307));
    app.get("/typed", () =>
      HttpResponse.text("<b>x</b>", { headers: { "content-type": "text/html" } }),
    );
    await using client = await TestClient.start(app);
    const created = await client.post("/created");
    assert.equal(created.statusCode, 201);
    assert.equal(created.headers.location, "/items/1");
    assert.deepEqual(created.json(), { id: 1 });
    const json = await client.get("/json-string");
    assert.equal(json.statusCode, 202);
    assert.equal(json.json(), "just a string");
    const redirect = await client.get("/redirect");
    assert.equal(redirect.statusCode, 307);
    assert.equal(redirect.headers.location, "/elsewhere");
    assert.equal((await client.get("/typed")).headers["content-type"], "text/html");
  });

  test("a WHATWG Response is sent with its status, headers and body", async () => {
    const app = quietApp();
    app.get(
      "/web",
      () => new Response("from fetch api", { status: 418, headers: { "x-kind": "web" } }),
    );
    app.get("/web-empty", () => new Response(null, { status: 204 }));
    await using client = await TestClient.start(app);
    const res = await client.get("/web");
    assert.equal(res.statusCode, 418);
    assert.equal(res.headers["x-kind"], "web");
    assert.equal(res.text(), "from fetch api");
    assert.equal((await client.get("/web-empty")).statusCode, 204);
  });
});

describe("headers", () => {
  test("set-cookie from the handler and from middleware are all sent", async () => {
    const app = quietApp();
    app.use(async (req, next) => {
      req.setResponseHeader("Set-Cookie", "session=1; HttpOnly");
      return next();
    });
    app.get("/", () => new HttpResponse("ok", { headers: { "set-cookie": ["a=1", "b=2"] } }));
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/")).headers["set-cookie"], [
      "a=1",
      "b=2",
      "session=1; HttpOnly",
    ]);
  });

  test("an invalid header value set by the app still gets a 500 answer, not a dropped connection", async () => {
    const app = quietApp();
    app.get("/download/:name", (req) => {
      req.setResponseHeader("content-disposition", `attachment; filename="${req.params.name}"`);
      return "file";
    });
    app.get("/refuse", () => {
      throw new HttpError(401, "no", undefined, { headers: { "x-why": "caf\u20ac" } });
    });
    await using client = await TestClient.start(app);
    for (const path of ["/download/%E2%82%AC.txt", "/refuse"]) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 500, path);
      assert.equal(res.json<{ requestId: string }>().requestId, res.headers["x-request-id"]);
    }
  });

  test("HttpError headers merge case-insensitively and cannot forge the request id", async () => {
    const app = quietApp();
    app.get("/", () => {
      throw new HttpError(401, "no", undefined, {
        headers: {
          "Content-Type": "text/html",
          "X-Request-Id": "forged",
          "WWW-Authenticate": "Bearer",
        },
      });
    });
    await using client = await TestClient.start(app);
    const res = await client.get("/");
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.notEqual(res.headers["x-request-id"], "forged");
    assert.equal(res.headers["www-authenticate"], "Bearer");
    assert.equal(res.json<{ message: string }>().message, "no");
  });

  test("HttpError details that cannot be serialised are dropped, not a crash", async () => {
    const app = quietApp();
    app.get("/", () => {
      throw new HttpError(400, "bad", { n: 1n });
    });
    await using client = await TestClient.start(app);
    const res = await client.get("/");
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ details?: unknown }>().details, undefined);
  });
});

describe("status and body kinds", () => {
  test("an explicit status with no body is kept; an ArrayBuffer is sent as bytes", async () => {
    const app = quietApp();
    app.get("/empty-200", () => new HttpResponse(undefined, { statusCode: 200 }));
    app.get("/array-buffer", () => new Uint8Array([1, 2, 3]).buffer);
    await using client = await TestClient.start(app);
    const empty = await client.get("/empty-200");
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.bytes().length, 0);
    const bytes = await client.get("/array-buffer");
    assert.equal(bytes.headers["content-type"], "application/octet-stream");
    assert.deepEqual([...bytes.bytes()], [1, 2, 3]);
  });
});

describe("errors", () => {
  test("HttpError becomes its status with error, message, details and extra headers", async () => {
    const app = quietApp();
    app.get("/teapot", () => {
      throw new HttpError(
        422,
        "name is required",
        { field: "name" },
        { headers: { "x-why": "validation" } },
      );
    });
    await using client = await TestClient.start(app);
    const res = await client.get("/teapot");
    assert.equal(res.statusCode, 422);
    assert.equal(res.headers["x-why"], "validation");
    assert.deepEqual(res.json(), {
      error: "Unprocessable Entity",
      message: "name is required",
      details: { field: "name" },
      requestId: res.headers["x-request-id"],
    });
  });

  test("HttpError rejects a status that is not an error status", () => {
    assert.throws(() => new HttpError(200, "fine"), RangeError);
    assert.throws(() => new HttpError(600), RangeError);
  });

  test("a throwing handler is 500 with the request id in the body and the log, not the message", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get("/boom", () => {
      throw new Error("secret database password in message");
    });
    app.get("/async-boom", async () => {
      await Promise.resolve();
      throw new TypeError("async failure");
    });
    await using client = await TestClient.start(app);
    const res = await client.get("/boom");
    assert.equal(res.statusCode, 500);
    const body = res.json<{ error: string; message: string; requestId: string }>();
    assert.equal(body.error, "Internal Server Error");
    assert.doesNotMatch(res.text(), /secret/);
    assert.equal(body.requestId, res.headers["x-request-id"]);
    const logged = lines.find((line) => line.reqId === body.requestId && line.level === 50);
    assert.ok(logged, "the error was logged with the request id");
    assert.match(logged.err?.message ?? "", /secret database password/);
    assert.equal((await client.get("/async-boom")).statusCode, 500);
  });

  test("a result that cannot be serialised is 500, and the server goes on", async () => {
    const app = quietApp();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    app.get("/cycle", () => cycle);
    app.get("/bigint", () => ({ n: 10n }));
    app.get("/bad-status", () => new HttpResponse("x", { statusCode: 9999 }));
    app.get(
      "/bad-header",
      () => new HttpResponse("x", { headers: { "x-bad": "a\r\nInjected: yes" } }),
    );
    app.get("/ok", () => "ok");
    await using client = await TestClient.start(app);
    for (const path of ["/cycle", "/bigint", "/bad-status", "/bad-header"]) {
      const res = await client.get(path);
      assert.equal(res.statusCode, 500, path);
      assert.equal(res.headers.injected, undefined);
    }
    assert.equal((await client.get("/ok")).text(), "ok");
  });
});
