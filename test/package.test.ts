import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";

// Imports the package by its name, as users do: this goes through package.json "exports" to
// dist/ (built by `npm test` before the tests run).
test("the package exports its public API from 'sluice' and 'sluice/testing', with types", async () => {
  const sluice = await import("sluice");
  for (const name of [
    "App",
    "StreamingResponse",
    "ndjson",
    "HttpError",
    "HttpResponse",
    "SluiceRequest",
  ]) {
    assert.equal(
      typeof (sluice as Record<string, unknown>)[name],
      "function",
      `sluice exports ${name}`,
    );
  }
  const testing = await import("sluice/testing");
  assert.equal(typeof testing.TestClient.start, "function");
  assert.ok(existsSync("dist/index.d.ts"), "dist/index.d.ts");
  assert.ok(existsSync("dist/testing/index.d.ts"), "dist/testing/index.d.ts");
});

test("the built package serves a request end to end", async () => {
  const { App } = await import("sluice");
  const { TestClient } = await import("sluice/testing");
  const app = new App({ logger: false });
  app.get("/", () => ({ built: true }));
  await using client = await TestClient.start(app);
  assert.deepEqual((await client.get("/")).json(), { built: true });
});
