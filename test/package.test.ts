import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";

/**
 * The file Node finds for the package name `specifier` from this repository, as a user's
 * import would: through package.json "exports" to dist/ (built by `npm test` before the tests
 * run). Asked of a plain Node process because under tsx the names go through tsconfig.json's
 * "paths" to src/ (that is how the examples run without a build).
 */
function builtEntry(specifier: string): string {
  const script = `process.stdout.write(import.meta.resolve(${JSON.stringify(specifier)}))`;
  const url = execFileSync(process.execPath, ["--input-type=module", "--eval", script], {
    encoding: "utf8",
  });
  assert.match(url, /\/dist\/(testing\/)?index\.js$/, `${specifier} resolves to dist/`);
  return url;
}

// Imports the package by its name, as users do.
test("the package exports its public API from 'sluice' and 'sluice/testing', with types", async () => {
  const sluice: typeof import("sluice") = await import(builtEntry("sluice"));
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
  const testing: typeof import("sluice/testing") = await import(builtEntry("sluice/testing"));
  assert.equal(typeof testing.TestClient.start, "function");
  assert.ok(existsSync("dist/index.d.ts"), "dist/index.d.ts");
  assert.ok(existsSync("dist/testing/index.d.ts"), "dist/testing/index.d.ts");
});

test("the built package serves a request end to end", async () => {
  const { App }: typeof import("sluice") = await import(builtEntry("sluice"));
  const { TestClient }: typeof import("sluice/testing") = await import(
    builtEntry("sluice/testing")
  );
  const app = new App({ logger: false });
  app.get("/", () => ({ built: true }));
  await using client = await TestClient.start(app);
  assert.deepEqual((await client.get("/")).json(), { built: true });
});
