// Issue 21, the HTTP surface after review: async head schemas that reject next to sync ones
// that throw, what middleware sees of a validated request, zod's and valibot's async paths,
// and the bounds of a reported problem (100 issues, 300 characters), on real requests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import { App, type StandardSchemaV1 } from "../src/index.js";
import { codePath, jsonPointer, toValidationIssues } from "../src/util/validation-issue.js";
import { watchCrashes } from "./support/crash-watch.js";
import { capturedLogger, errorLines } from "./support/logging.js";

const crashes = watchCrashes();

/** Listens on 127.0.0.1, runs `use` with the base URL, closes whatever happens. */
async function withServer(app: App, use: (url: string) => Promise<void>): Promise<void> {
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    await use(url);
  } finally {
    await app.close();
  }
}

interface Problem {
  detail: string;
  issues: { in: string; path: string; pointer: string; message: string }[];
}

async function problemOf(response: Response): Promise<Problem> {
  return (await response.json()) as Problem;
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A valibot query schema whose async check throws on a site that is not a URL. */
const asyncSiteQuery = v.objectAsync({
  site: v.pipeAsync(
    v.string(),
    v.checkAsync(async (site) => {
      await later(20);
      return new URL(site).protocol === "https:";
    }, "https only"),
  ),
});

/** A hand-made schema that throws synchronously, whatever it is given. */
function throwing(what: string): StandardSchemaV1 {
  return {
    "~standard": {
      version: 1,
      vendor: "hand-made",
      validate: () => {
        throw new Error(what);
      },
    },
  };
}

describe("a schema that throws: 500, logged once, the server lives on", () => {
  test("an async query schema that rejects and a sync headers schema that throws", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    const headers = v.object({
      "x-filter": v.pipe(
        v.string(),
        v.transform((text) => JSON.parse(text) as unknown),
      ),
    });
    app.get("/search", { query: asyncSiteQuery, headers }, () => ({ ok: true }));
    await withServer(app, async (url) => {
      const bad = await fetch(`${url}/search?site=nope`, { headers: { "x-filter": "{" } });
      assert.equal(bad.status, 500);
      assert.doesNotMatch(await bad.text(), /Invalid URL|JSON/);
      // The async schema's promise rejects after the answer: it must find a handler.
      await later(60);
      assert.deepEqual(crashes, []);
      const logged = errorLines(lines);
      assert.equal(logged.length, 1, "logged once");
      assert.equal(logged[0]?.err?.type, "SchemaError");
      const good = await fetch(`${url}/search?site=https://a.example`, {
        headers: { "x-filter": "{}" },
      });
      assert.equal(good.status, 200);
    });
  });

  test("every part's schema runs, even when an earlier one throws synchronously", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get(
      "/p/:site",
      { params: throwing("params broke"), query: asyncSiteQuery, headers: throwing("headers") },
      () => "ran",
    );
    await withServer(app, async (url) => {
      const response = await fetch(`${url}/p/x?site=nope`);
      assert.equal(response.status, 500);
      await later(60);
      assert.deepEqual(crashes, []);
      const logged = errorLines(lines);
      assert.equal(logged.length, 1, "logged once, the first part's error");
      assert.match(logged[0]?.err?.message ?? "", /params broke/);
    });
  });

  test("valibot: an async check that throws is a 500 logged once, on every request", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.get("/search", { query: asyncSiteQuery }, () => ({ ok: true }));
    await withServer(app, async (url) => {
      for (let round = 1; round <= 2; round++) {
        const response = await fetch(`${url}/search?site=nope`);
        assert.equal(response.status, 500);
        assert.equal(errorLines(lines).length, round);
      }
      const refused = await fetch(`${url}/search?site=http://a.example`);
      assert.equal(refused.status, 400);
      assert.equal(errorLines(lines)[0]?.err?.type, "SchemaError");
      assert.deepEqual(crashes, []);
    });
  });

  test("zod: after its first request, an async refinement runs once, and its throw is a 500", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    let calls = 0;
    const site = z.string().refine(async (value) => {
      calls++;
      await later(5);
      return new URL(value).protocol === "https:";
    }, "https only");
    app.get("/search", { query: z.object({ site }) }, (req) => ({ site: req.query.site }));
    await withServer(app, async (url) => {
      const first = await fetch(`${url}/search?site=https://a.example`);
      assert.equal(first.status, 200);
      calls = 0;
      const second = await fetch(`${url}/search?site=https://b.example`);
      assert.deepEqual(await second.json(), { site: "https://b.example" });
      assert.equal(calls, 1, "the refinement ran once for the second request");
      const refused = await fetch(`${url}/search?site=http://c.example`);
      assert.equal(refused.status, 400);
      assert.equal((await problemOf(refused)).issues[0].message, "https only");
      const thrown = await fetch(`${url}/search?site=nope`);
      assert.equal(thrown.status, 500);
      await later(30);
      assert.deepEqual(crashes, []);
      assert.equal(errorLines(lines).length, 1);
    });
  });
});

describe("what middleware sees of a validated request", () => {
  test("headers keep every header after next(); the query is the schema's record (read the raw one before next())", async () => {
    const app = new App({ logger: false });
    app.use(async (req, next) => {
      const before = req.query instanceof URLSearchParams ? req.query.get("page") : "not raw";
      const result = await next();
      const after = req.query instanceof URLSearchParams ? "raw" : JSON.stringify(req.query);
      req.setResponseHeader(
        "x-seen",
        `before=${before} after=${after} agent=${req.headers["user-agent"]} key=${String(req.headers["x-k"])}`,
      );
      return result;
    });
    app.get("/typed", { query: z.object({ page: z.coerce.number() }) }, (req) => req.query.page);
    app.get(
      "/typed-h",
      { headers: v.object({ "x-k": v.pipe(v.string(), v.transform(Number)) }) },
      (req) => ({
        key: req.headers["x-k"],
        agent: req.headers["user-agent"],
      }),
    );
    await withServer(app, async (url) => {
      const headers = { "x-k": "7", "user-agent": "probe/1" };
      const typed = await fetch(`${url}/typed?page=2`, { headers });
      assert.equal(typed.status, 200);
      assert.equal(
        typed.headers.get("x-seen"),
        'before=2 after={"page":2} agent=probe/1 key=7',
        "the query is replaced: a decision, documented on the route overload",
      );
      const typedH = await fetch(`${url}/typed-h?page=2`, { headers });
      assert.deepEqual(await typedH.json(), { key: 7, agent: "probe/1" });
      assert.equal(typedH.headers.get("x-seen"), "before=2 after=raw agent=probe/1 key=7");
    });
  });
});

describe("the bounds of a reported problem", () => {
  test("at most 100 issues are listed and the detail says how many more there were", async () => {
    const app = new App({ logger: false });
    app.post("/numbers", { body: z.array(z.number()) }, () => "ok");
    app.post("/v-numbers", { body: v.array(v.number()) }, () => "ok");
    const many = z.object(
      Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, z.string()])),
    );
    app.post("/parts", { query: many, headers: many }, () => "ok");
    await withServer(app, async (url) => {
      for (const path of ["/numbers", "/v-numbers"]) {
        const response = await fetch(`${url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(Array(101).fill("s")),
        });
        const problem = await problemOf(response);
        assert.equal(problem.issues.length, 100, path);
        assert.equal(problem.issues[99].path, "[99]");
        assert.match(problem.detail, /^Invalid body: \[0\]: .+ \(and 100 more issues\)$/);
      }
      const parts = await problemOf(await fetch(`${url}/parts`, { method: "POST" }));
      assert.equal(parts.issues.length, 100, "100 across the parts, not per part");
      assert.deepEqual(
        [parts.issues[0].in, parts.issues[59].in, parts.issues[60].in, parts.issues[99].in],
        ["query", "query", "headers", "headers"],
      );
      assert.match(parts.detail, /\(and 119 more issues\)$/);
    });
  });

  test("a message is cut to 300 characters, ending in an ellipsis", async () => {
    const app = new App({ logger: false });
    const long = "m".repeat(400);
    app.get("/z", { query: z.object({ a: z.string().regex(/^x$/, long) }) }, () => "ok");
    app.get("/v", { query: v.object({ a: v.pipe(v.string(), v.regex(/^x$/, long)) }) }, () => "ok");
    const fits = "f".repeat(300);
    app.get("/fits", { query: z.object({ a: z.string().regex(/^x$/, fits) }) }, () => "ok");
    await withServer(app, async (url) => {
      for (const path of ["/z", "/v"]) {
        const problem = await problemOf(await fetch(`${url}${path}?a=y`));
        const message = problem.issues[0].message;
        assert.equal(message.length, 300, path);
        assert.equal(message, `${"m".repeat(299)}…`);
      }
      const exact = await problemOf(await fetch(`${url}/fits?a=y`));
      assert.equal(exact.issues[0].message, fits, "300 characters are kept whole");
    });
  });

  test("paths and pointers: identifiers dotted, indexes and odd keys bracketed, pointers escaped", async () => {
    const app = new App({ logger: false });
    app.post(
      "/order",
      {
        body: z.object({
          items: z.array(z.object({ name: z.string() })),
          "a b": z.string(),
          "a/b": z.string(),
          "m~n": z.string(),
        }),
      },
      () => "ok",
    );
    await withServer(app, async (url) => {
      const response = await fetch(`${url}/order`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ items: [{ name: 1 }], "a b": 2, "a/b": 3, "m~n": 4 }),
      });
      const problem = await problemOf(response);
      assert.deepEqual(
        problem.issues.map((issue) => [issue.path, issue.pointer]),
        [
          ["items[0].name", "/items/0/name"],
          ['["a b"]', "/a b"],
          ['["a/b"]', "/a~1b"],
          ['["m~n"]', "/m~0n"],
        ],
      );
    });
    assert.equal(codePath(["items", 0, "name"]), "items[0].name");
    assert.equal(codePath(["a b", "$ok", "_x1"]), '["a b"].$ok._x1');
    assert.equal(jsonPointer(["a/b", "~", 0]), "/a~1b/~0/0");
    const deep = toValidationIssues([
      { message: "x", path: Array.from({ length: 40 }, () => "k") },
    ]);
    assert.equal(deep[0]?.path, `k${".k".repeat(31)}…`);
    assert.equal(deep[0]?.pointer, `${"/k".repeat(32)}/…`);
  });
});
