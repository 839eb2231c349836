import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defaultPort } from "../src/app/listen.js";
import { App } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";

describe("App options", () => {
  test("logger options with an undefined level, or null, fall back to the default", () => {
    const unsetLevel = new App({ logger: { level: process.env.SLUICE_UNSET_LEVEL } });
    assert.equal(unsetLevel.logger.level, process.env.LOG_LEVEL ?? "info");
    const nullLogger = new App({ logger: null as never });
    assert.equal(typeof nullLogger.logger.info, "function");
    assert.equal(new App({ logger: false }).logger.level, "silent");
  });

  test("headersTimeout: 0 does not make Node check connections every millisecond", async () => {
    const app = new App({ logger: false, headersTimeout: 0 });
    const server = await app.listen({ port: 0 });
    assert.equal(
      (server.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval,
      1000,
    );
    await app.close();
  });

  test("maxHeadersCount: not a positive whole number throws a TypeError that names it", () => {
    for (const bad of [0, -1, 1.5, "10", Number.NaN, null]) {
      assert.throws(
        () => new App({ logger: false, maxHeadersCount: bad as never }),
        (error: unknown) =>
          error instanceof TypeError &&
          /maxHeadersCount must be a positive whole number/.test(error.message),
      );
    }
    assert.doesNotThrow(() => new App({ logger: false, maxHeadersCount: 1 }));
  });

  test("maxHeadersCount past what Node can hold (it doubles it into an int32) still lets every header through", async () => {
    const app = new App({ logger: false, maxHeadersCount: 2 ** 31 });
    app.get("/headers", (req) => Object.keys(req.headers).filter((name) => name.startsWith("x-")));
    await using client = await TestClient.start(app);
    const res = await client.get("/headers", { headers: { "x-a": "1", "x-b": "2", "x-c": "3" } });
    assert.deepEqual(res.json(), ["x-a", "x-b", "x-c"]);
  });

  test("sendTimeout: not a whole number of ms from 0 throws a TypeError that names it", () => {
    for (const bad of [-1, 1.5, "10", Number.NaN, 2 ** 31]) {
      assert.throws(
        () => new App({ logger: false, sendTimeout: bad as never }),
        (error: unknown) =>
          error instanceof TypeError &&
          /sendTimeout must be a whole number of ms/.test(error.message),
      );
    }
    assert.doesNotThrow(() => new App({ logger: false, sendTimeout: 0 }));
  });

  test("PORT: a number is used; empty, junk or out of range means 3000", () => {
    assert.equal(defaultPort("8080"), 8080);
    assert.equal(defaultPort("0"), 0);
    assert.equal(defaultPort(""), 3000);
    assert.equal(defaultPort("  "), 3000);
    assert.equal(defaultPort("http"), 3000);
    assert.equal(defaultPort("70000"), 3000);
    assert.equal(defaultPort(undefined), 3000);
  });
});
