// The bounds of a reported validation issue, at their values: keys and paths come from the
// client, so a huge property name must not make a huge answer (100 issues × 2 copies of it).
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { App } from "../src/index.js";
import {
  MAX_ISSUE_PATH_LENGTH,
  MAX_PATH_KEY_LENGTH,
  toValidationIssues,
} from "../src/util/validation-issue.js";

test("a key is cut at 64 characters and a path at 200, each ending with …", () => {
  assert.equal(MAX_PATH_KEY_LENGTH, 64);
  assert.equal(MAX_ISSUE_PATH_LENGTH, 200);
  const longKey = "k".repeat(10_000);
  const [issue] = toValidationIssues([{ message: "bad", path: [longKey] }]);
  assert.equal(issue.path, `["${"k".repeat(63)}…"]`, "a cut key is no identifier any more");
  assert.equal(issue.pointer, `/${"k".repeat(63)}…`);
  const deep = toValidationIssues([
    { message: "bad", path: Array(20).fill("abcdefghijklmnop") },
  ])[0];
  assert.equal(deep.path.length, 200);
  assert.ok(deep.path.endsWith("…"));
  assert.equal(deep.pointer.length, 200);
  const short = toValidationIssues([{ message: "bad", path: ["a".repeat(64)] }])[0];
  assert.equal(short.path, "a".repeat(64), "a key of exactly 64 characters is kept whole");
});

test("a body with 150 keys of 100 KB each is answered in a few KB, not tens of MB", async () => {
  const app = new App({ logger: false, bodyLimit: 20 * 1024 * 1024 });
  app.post("/strict", { body: z.record(z.string().max(3), z.number()) }, () => "ok");
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const body: Record<string, string> = {};
    for (let n = 0; n < 150; n++) body[`${n}${"x".repeat(100_000)}`] = "not a number";
    const response = await fetch(`${url}/strict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 400);
    const text = await response.text();
    assert.ok(text.length < 120_000, `the answer is ${text.length} characters`);
    const problem = JSON.parse(text) as { issues: { path: string }[] };
    assert.equal(problem.issues.length, 100);
    for (const issue of problem.issues) assert.ok(issue.path.length <= 200, issue.path);
  } finally {
    await app.close();
  }
});
