// Issue 21, the HTTP surface: a route's { body, query, params, headers, response } schemas
// validate the request after middleware and type the handler's request. Every case runs with
// zod and with valibot, on a real server reached with fetch.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as v from "valibot";
import { z } from "zod";
import {
  App,
  type AppOptions,
  HttpError,
  type StandardSchemaV1,
  ValidationError,
} from "../src/index.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { portOf, rawExchange } from "./support/raw-http.js";

interface User {
  name: string;
  age: number;
}

/** The same schemas written with one library. */
interface Kit {
  readonly user: StandardSchemaV1<unknown, User>;
  readonly maybeUser: StandardSchemaV1<unknown, User | undefined>;
  readonly idParams: StandardSchemaV1<unknown, { id: number }>;
  readonly listQuery: StandardSchemaV1<unknown, { tag: string[]; limit: number }>;
  readonly keyHeaders: StandardSchemaV1<unknown, { "x-api-key": string }>;
  readonly userResponse: StandardSchemaV1<{ id: number; name: string }>;
  readonly anything: StandardSchemaV1;
  readonly nested: StandardSchemaV1;
  /** A name refused by an async check ("taken"): the library's async path. */
  readonly freeName: StandardSchemaV1<unknown, { name: string }>;
}

type Tree = { child?: Tree | null };
const zodTree: z.ZodType<Tree> = z.lazy(() => z.object({ child: zodTree.nullable().optional() }));
const valibotTree: v.GenericSchema<Tree> = v.lazy(() =>
  v.object({ child: v.optional(v.nullable(valibotTree)) }),
);
const nameIsFree = async (name: string) => {
  await new Promise((resolve) => setImmediate(resolve));
  return name !== "taken";
};

const toList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const zodUser = z.object({ name: z.string().min(1), age: z.coerce.number().int() });
const valibotUser = v.object({
  name: v.pipe(v.string(), v.minLength(1)),
  age: v.pipe(v.union([v.string(), v.number()]), v.transform(Number), v.number(), v.integer()),
});

const KITS: Record<string, Kit> = {
  zod: {
    user: zodUser,
    maybeUser: zodUser.optional(),
    idParams: z.object({ id: z.coerce.number().int().positive() }),
    listQuery: z.object({
      tag: z
        .union([z.string(), z.array(z.string())])
        .default([])
        .transform(toList),
      limit: z.coerce.number().int().max(50).default(10),
    }),
    keyHeaders: z.object({ "x-api-key": z.string().min(3) }),
    userResponse: z.object({ id: z.number(), name: z.string() }),
    anything: z.any(),
    nested: zodTree,
    freeName: z.object({ name: z.string().refine(nameIsFree, "name is taken") }),
  },
  valibot: {
    user: valibotUser,
    maybeUser: v.optional(valibotUser),
    idParams: v.object({
      id: v.pipe(v.string(), v.transform(Number), v.number(), v.integer(), v.minValue(1)),
    }),
    listQuery: v.object({
      tag: v.pipe(v.optional(v.union([v.string(), v.array(v.string())]), []), v.transform(toList)),
      limit: v.pipe(
        v.optional(v.string(), "10"),
        v.transform(Number),
        v.number(),
        v.integer(),
        v.maxValue(50),
      ),
    }),
    keyHeaders: v.object({ "x-api-key": v.pipe(v.string(), v.minLength(3)) }),
    userResponse: v.object({ id: v.number(), name: v.string() }),
    anything: v.any(),
    nested: valibotTree,
    freeName: v.objectAsync({
      name: v.pipeAsync(v.string(), v.checkAsync(nameIsFree, "name is taken")),
    }),
  },
};

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  issues: { in: string; path: string; pointer: string; message: string }[];
  requestId: string;
}

/** Routes of every kind, with `kit`'s schemas; each echoes what its handler got. */
function contractApp(kit: Kit, options: AppOptions = {}): App {
  const app = new App({ logger: false, ...options });
  app.post(
    "/users/:id",
    { params: kit.idParams, query: kit.listQuery, headers: kit.keyHeaders, body: kit.user },
    (req) => ({
      id: req.params.id,
      tag: req.query.tag,
      limit: req.query.limit,
      key: req.headers["x-api-key"],
      body: req.body,
    }),
  );
  app.get("/list", { query: kit.listQuery }, (req) => req.query);
  app.put("/maybe", { body: kit.maybeUser }, (req) => ({ body: req.body ?? "none" }));
  app.post("/any", { body: kit.anything }, () => ({ ok: true }));
  app.post("/tree", { body: kit.nested }, () => ({ ok: true }));
  app.post("/async", { body: kit.freeName }, (req) => ({ name: req.body.name }));
  app.get("/users/:id", { params: kit.idParams, response: kit.userResponse }, (req) =>
    // An id above 100 answers a value the response schema refuses.
    req.params.id > 100
      ? ({ id: "not a number", name: "x" } as unknown as { id: number; name: string })
      : { id: req.params.id, name: "ada" },
  );
  app.group("/teams/:team", (team) => {
    team.patch("/members", { body: kit.user }, (req) => ({
      team: req.params.team,
      member: req.body.name,
    }));
  });
  app.route("DELETE", "/users/:id", { params: kit.idParams }, (req) => ({
    deleted: req.params.id,
  }));
  return app;
}

const JSON_HEADERS = { "content-type": "application/json", "x-api-key": "k-123" };

async function problemOf(response: Response): Promise<Problem> {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const problem = (await response.json()) as Problem;
  assert.equal(problem.type, "about:blank");
  assert.equal(problem.status, response.status);
  assert.equal(problem.requestId, response.headers.get("x-request-id"));
  return problem;
}

/** An App listening on 127.0.0.1 for the tests of one describe block. */
function serve(make: () => App) {
  const served = { url: "", app: undefined as App | undefined };
  before(async () => {
    served.app = make();
    served.url = (await served.app.listen({ port: 0, host: "127.0.0.1" })).url;
  });
  after(() => served.app?.close());
  return served;
}

for (const [library, kit] of Object.entries(KITS)) {
  describe(`HTTP routes with ${library} schemas`, () => {
    const served = serve(() => contractApp(kit));
    const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
      fetch(`${served.url}${path}`, {
        method: "POST",
        headers,
        body: typeof body === "string" ? body : JSON.stringify(body),
      });

    test("valid params, query, headers and body reach the handler as the schemas' outputs (coerced, defaulted)", async () => {
      const response = await post("/users/7?tag=a&tag=b", { name: "ada", age: "36" });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        id: 7,
        tag: ["a", "b"],
        limit: 10,
        key: "k-123",
        body: { name: "ada", age: 36 },
      });
    });

    test("a query key given once is a string, repeated a list; coercion applies to the query", async () => {
      const once = await fetch(`${served.url}/list?tag=solo&limit=5`);
      assert.deepEqual(await once.json(), { tag: ["solo"], limit: 5 });
      const none = await fetch(`${served.url}/list`);
      assert.deepEqual(await none.json(), { tag: [], limit: 10 });
    });

    test("an invalid body answers 400 problem+json naming each field and rule", async () => {
      const response = await post("/users/7", { name: "", age: "x" });
      assert.equal(response.status, 400);
      const problem = await problemOf(response);
      assert.equal(problem.title, "Bad Request");
      assert.match(problem.detail, /^Invalid body: name: .+ \(and 1 more issue\)$/);
      assert.deepEqual(
        problem.issues.map(({ in: where, path, pointer }) => ({ in: where, path, pointer })),
        [
          { in: "body", path: "name", pointer: "/name" },
          { in: "body", path: "age", pointer: "/age" },
        ],
      );
      for (const issue of problem.issues) assert.ok(issue.message.length > 0);
      assert.doesNotMatch(JSON.stringify(problem), /at .+\.(js|ts):\d+/, "no stack");
    });

    test("invalid params, query and headers are all reported, and the body is not even looked at", async () => {
      // The body would be a 415 if it were read: the head's failures come first.
      const response = await post("/users/0?limit=500", "not json", {
        "content-type": "text/plain",
        "x-api-key": "k",
      });
      assert.equal(response.status, 400);
      const problem = await problemOf(response);
      assert.match(problem.detail, /^Invalid params and query and headers: id: /);
      assert.deepEqual(
        problem.issues.map((issue) => [issue.in, issue.path]),
        [
          ["params", "id"],
          ["query", "limit"],
          ["headers", '["x-api-key"]'],
        ],
      );
    });

    test("a header name that is not an identifier gets a bracketed path and an escaped pointer", async () => {
      const response = await post("/users/1", { name: "ada", age: 1 }, JSON_HEADERS_WITHOUT_KEY);
      const problem = await problemOf(response);
      assert.deepEqual(
        problem.issues.map(({ path, pointer }) => ({ path, pointer })),
        [{ path: '["x-api-key"]', pointer: "/x-api-key" }],
      );
    });

    test("a body of another media type answers 415 problem+json naming what is accepted", async () => {
      const response = await post("/users/7", "name=ada", {
        "content-type": "text/plain",
        "x-api-key": "k-123",
      });
      assert.equal(response.status, 415);
      const problem = (await problemOf(response)) as unknown as Problem & { accepted: string[] };
      assert.equal(problem.title, "Unsupported Media Type");
      assert.match(problem.detail, /text\/plain is not accepted here; send application\/json/);
      assert.deepEqual(problem.accepted, [
        "application/json",
        "application/*+json",
        "application/x-www-form-urlencoded",
      ]);
    });

    test("+json media types are read as JSON; a form body is a record (repeated keys as lists)", async () => {
      const merge = await post(
        "/users/7",
        { name: "ada", age: 3 },
        {
          "content-type": "application/merge-patch+json; charset=utf-8",
          "x-api-key": "k-123",
        },
      );
      assert.deepEqual(((await merge.json()) as { body: unknown }).body, { name: "ada", age: 3 });
      const form = await post("/users/7", "name=ada&age=41", {
        "content-type": "application/x-www-form-urlencoded",
        "x-api-key": "k-123",
      });
      assert.equal(form.status, 200);
      assert.deepEqual(((await form.json()) as { body: unknown }).body, { name: "ada", age: 41 });
      const repeated = await post("/users/7", "name=a&name=b&age=1", {
        "content-type": "application/x-www-form-urlencoded",
        "x-api-key": "k-123",
      });
      const problem = await problemOf(repeated);
      assert.deepEqual(
        problem.issues.map((issue) => [issue.in, issue.path]),
        [["body", "name"]],
        "name came twice: a list, which the schema refuses",
      );
    });

    test("no body (or an empty one) is validated as undefined: an optional body passes, a required one is refused", async () => {
      const none = await fetch(`${served.url}/maybe`, { method: "PUT" });
      assert.deepEqual(await none.json(), { body: "none" });
      const empty = await fetch(`${served.url}/maybe`, {
        method: "PUT",
        body: "",
        headers: { "content-type": "text/plain" },
      });
      assert.deepEqual(await empty.json(), { body: "none" }, "no bytes: no media type to refuse");
      const given = await fetch(`${served.url}/maybe`, {
        method: "PUT",
        body: JSON.stringify({ name: "ada", age: 1 }),
        headers: { "content-type": "application/json" },
      });
      assert.deepEqual(await given.json(), { body: { name: "ada", age: 1 } });
      const chunkedEmpty = await rawExchange(
        portOf(served.url),
        "PUT /maybe HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n0\r\n\r\n",
      );
      assert.match(
        chunkedEmpty,
        /^HTTP\/1\.1 200 [\s\S]*\{"body":"none"\}$/,
        "a chunked body of no bytes",
      );
      const required = await post("/users/7", "", { "x-api-key": "k-123" });
      assert.equal(required.status, 400);
      assert.deepEqual(
        (await problemOf(required)).issues.map((issue) => [issue.in, issue.path]),
        [["body", ""]],
      );
    });

    test("malformed JSON and a __proto__ key are refused as the body's issues, before the schema", async () => {
      const malformed = await post("/any", "{", { "content-type": "application/json" });
      assert.equal(malformed.status, 400);
      const problem = await problemOf(malformed);
      assert.equal(problem.issues[0]?.in, "body");
      assert.match(problem.detail, /Malformed JSON body/);
      const proto = await post("/any", '{"__proto__": {"admin": true}}', {
        "content-type": "application/json",
      });
      assert.match((await problemOf(proto)).detail, /"__proto__" key is not accepted/);
    });

    test("a body over bodyLimit answers 413 before any schema runs", async () => {
      const huge = JSON.stringify({ name: "x".repeat(1024 * 1024), age: 1 });
      const response = await post("/users/7", huge);
      assert.equal(response.status, 413);
      assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
      assert.match(
        ((await response.json()) as { message: string }).message,
        /larger than the limit of 1048576 bytes/,
      );
    });

    test("JSON nested deeper than any schema recurses (under the size limit) is a 400 or passes, never a crash", async () => {
      // 1 MB, just under the default bodyLimit: deep enough to overflow either library.
      const depth = 100_000;
      const deep = `${'{"child":'.repeat(depth)}null${"}".repeat(depth)}`;
      const anything = await post("/any", deep, { "content-type": "application/json" });
      assert.equal(anything.status, 200, "a schema that does not recurse lets it through");
      const recursive = await post("/tree", deep, { "content-type": "application/json" });
      assert.equal(recursive.status, 400, "a recursive schema overflows: the client's input");
      assert.deepEqual((await problemOf(recursive)).issues, [
        { in: "body", path: "", pointer: "", message: "Nested too deeply to validate" },
      ]);
      const arrays = await post("/tree", `${"[".repeat(60_000)}${"]".repeat(60_000)}`, {
        "content-type": "application/json",
      });
      // zod refuses an array for an object; valibot takes it as one with no keys.
      assert.ok([400, 200].includes(arrays.status), `60 000 nested arrays: ${arrays.status}`);
      const after = await post(
        "/tree",
        { child: { child: null } },
        {
          "content-type": "application/json",
        },
      );
      assert.equal(after.status, 200, "the server still answers");
    });

    test("an async schema is awaited: its pass and its refusal", async () => {
      const free = await post("/async", { name: "ada" }, { "content-type": "application/json" });
      assert.deepEqual(await free.json(), { name: "ada" });
      const taken = await post("/async", { name: "taken" }, { "content-type": "application/json" });
      assert.equal(taken.status, 400);
      const problem = await problemOf(taken);
      assert.deepEqual(
        problem.issues.map(({ in: where, path, message }) => ({ in: where, path, message })),
        [{ in: "body", path: "name", message: "name is taken" }],
      );
    });

    test("route groups and app.route() take schemas too, params typed from the prefix", async () => {
      const member = await fetch(`${served.url}/teams/red/members`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "ada", age: 1 }),
      });
      assert.deepEqual(await member.json(), { team: "red", member: "ada" });
      const refused = await fetch(`${served.url}/teams/red/members`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(refused.status, 400);
      const deleted = await fetch(`${served.url}/users/3`, { method: "DELETE" });
      assert.deepEqual(await deleted.json(), { deleted: 3 });
      const badId = await fetch(`${served.url}/users/x`, { method: "DELETE" });
      assert.equal((await problemOf(badId)).issues[0]?.in, "params");
    });

    test("HEAD on a GET route with schemas is validated as the GET is", async () => {
      const ok = await fetch(`${served.url}/users/3`, { method: "HEAD" });
      assert.equal(ok.status, 200);
      const refused = await fetch(`${served.url}/users/x`, { method: "HEAD" });
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.get("content-type"), "application/problem+json");
    });
  });

  describe(`the response schema (${library}) is checked when validateOutput is on`, () => {
    test("on: a returned value the schema refuses is a 500 with today's body, logged once with its issues", async () => {
      const { logger, lines } = capturedLogger();
      const app = contractApp(kit, { logger, validateOutput: true });
      const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
      try {
        const fine = await fetch(`${url}/users/5`);
        assert.deepEqual(await fine.json(), { id: 5, name: "ada" });
        const wrong = await fetch(`${url}/users/500`);
        assert.equal(wrong.status, 500);
        assert.equal(wrong.headers.get("content-type"), "application/json; charset=utf-8");
        assert.deepEqual(await wrong.json(), {
          error: "Internal Server Error",
          message: "Internal Server Error",
          requestId: wrong.headers.get("x-request-id"),
        });
        const logged = errorLines(lines);
        assert.equal(logged.length, 1);
        const err = logged[0]?.err as unknown as { type: string; issues: { path: string }[] };
        assert.equal(err.type, "OutputValidationError");
        assert.deepEqual(
          err.issues.map((issue) => issue.path),
          ["id"],
        );
      } finally {
        await app.close();
      }
    });

    test("off: the value is sent as the handler gave it, unchecked", async () => {
      const app = contractApp(kit, { validateOutput: false });
      const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
      try {
        const wrong = await fetch(`${url}/users/500`);
        assert.equal(wrong.status, 200);
        assert.deepEqual(await wrong.json(), { id: "not a number", name: "x" });
      } finally {
        await app.close();
      }
    });
  });
}

const JSON_HEADERS_WITHOUT_KEY = { "content-type": "application/json" };

describe("what the schemas do not change, and the server's own failures", () => {
  test("validateOutput defaults to on, and to off when NODE_ENV is production", async () => {
    const saved = process.env.NODE_ENV;
    const statusWith = async (env: string | undefined) => {
      if (env === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = env;
      const app = contractApp(KITS.zod as Kit);
      const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
      try {
        return (await fetch(`${url}/users/500`)).status;
      } finally {
        await app.close();
      }
    };
    try {
      assert.equal(await statusWith(undefined), 500);
      assert.equal(await statusWith("development"), 500);
      assert.equal(await statusWith("production"), 200);
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });

  test("a schema that throws instead of returning issues is a 500, logged once, its message not sent", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    const broken: StandardSchemaV1 = {
      "~standard": {
        version: 1,
        vendor: "hand-made",
        validate: () => {
          throw new Error("secret internals");
        },
      },
    };
    let ran = false;
    app.get("/broken", { query: broken }, () => {
      ran = true;
      return "ran";
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const response = await fetch(`${url}/broken`);
      assert.equal(response.status, 500);
      const text = await response.text();
      assert.doesNotMatch(text, /secret/);
      assert.equal(ran, false);
      const logged = errorLines(lines);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.err?.type, "SchemaError");
      assert.match(logged[0]?.err?.message ?? "", /hand-made schema threw.*secret internals/);
    } finally {
      await app.close();
    }
  });

  test("a hand-made schema whose validate returns a promise is awaited", async () => {
    const app = new App({ logger: false });
    const slowNumber: StandardSchemaV1<unknown, number> = {
      "~standard": {
        version: 1,
        vendor: "hand-made",
        validate: async (value) =>
          typeof value === "string" && /^\d+$/.test(value)
            ? { value: Number(value) }
            : { issues: [{ message: "Expected digits" }] },
      },
    };
    app.get("/n/:n", { params: { "~standard": paramsOf(slowNumber) } }, (req) => ({
      n: req.params,
    }));
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      assert.deepEqual(await (await fetch(`${url}/n/12`)).json(), { n: { n: 12 } });
      const refused = await fetch(`${url}/n/x`);
      assert.deepEqual((await problemOf(refused)).issues, [
        { in: "params", path: "n", pointer: "/n", message: "Expected digits" },
      ]);
    } finally {
      await app.close();
    }
  });

  test("a ValidationError a handler throws answers 400 problem+json; other errors keep their JSON body", async () => {
    const app = new App({ logger: false });
    app.post("/publish", () => {
      throw new ValidationError('topic "chat:1"', [
        { path: "text", pointer: "/text", message: "Required" },
      ]);
    });
    app.get("/teapot", () => {
      throw new HttpError(418, "short and stout", { handle: true });
    });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const refused = await fetch(`${url}/publish`, { method: "POST" });
      assert.equal(refused.status, 400);
      assert.deepEqual(await problemOf(refused), {
        type: "about:blank",
        title: "Bad Request",
        status: 400,
        detail: 'Invalid topic "chat:1": text: Required',
        issues: [{ in: 'topic "chat:1"', path: "text", pointer: "/text", message: "Required" }],
        requestId: refused.headers.get("x-request-id"),
      });
      const teapot = await fetch(`${url}/teapot`);
      assert.equal(teapot.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(await teapot.json(), {
        error: "I'm a Teapot",
        message: "short and stout",
        details: { handle: true },
        requestId: teapot.headers.get("x-request-id"),
      });
    } finally {
      await app.close();
    }
  });

  test("middleware runs first and sees the raw request; a route without schemas is as before", async () => {
    const app = new App({ logger: false });
    const seen: unknown[] = [];
    app.use((req, next) => {
      seen.push(req.query instanceof URLSearchParams);
      if (req.header("authorization") !== "yes") throw new HttpError(401, "who are you");
      return next();
    });
    app.get("/typed", { query: z.object({ n: z.coerce.number() }) }, (req) => ({
      n: req.query.n,
      isParams: (req.query as unknown) instanceof URLSearchParams,
    }));
    app.post("/plain", async (req) => ({
      query: req.query instanceof URLSearchParams,
      body: await req.json(),
      hasBody: "body" in req && (req as { body?: unknown }).body !== undefined,
    }));
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const unauthorised = await fetch(`${url}/typed?n=x`);
      assert.equal(unauthorised.status, 401, "the guard answers before validation");
      const headers = { authorization: "yes" };
      assert.deepEqual(await (await fetch(`${url}/typed?n=4`, { headers })).json(), {
        n: 4,
        isParams: false,
      });
      const plain = await fetch(`${url}/plain?x=1`, {
        method: "POST",
        headers: { ...headers, "content-type": "text/plain" },
        body: '{"a":1}',
      });
      assert.deepEqual(await plain.json(), { query: true, body: { a: 1 }, hasBody: false });
      assert.deepEqual(seen, [true, true, true]);
      const malformed = await fetch(`${url}/plain`, { method: "POST", headers, body: "{" });
      assert.equal(malformed.headers.get("content-type"), "application/json; charset=utf-8");
    } finally {
      await app.close();
    }
  });

  test("schemas are checked when the route is added, naming the route and the key", () => {
    const app = new App({ logger: false });
    // What JavaScript callers (or a cast) can pass: the types refuse all of these.
    const untyped = app as unknown as Record<string, (...args: unknown[]) => unknown>;
    const handler = () => "x";
    assert.throws(
      () => untyped.post("/a", { body: { parse: () => 1 } }, handler),
      /^TypeError: POST \/a: body must be a Standard Schema/,
    );
    assert.throws(
      () => untyped.get("/b", { bdy: z.string() }, handler),
      /^TypeError: GET \/b: unknown schema "bdy"; a route may declare body, query, params, headers, response$/,
    );
    assert.throws(
      () => untyped.get("/c", null, handler),
      /^TypeError: GET \/c: the second argument must be the route's schemas/,
    );
    assert.throws(
      () => untyped.get("/d", { query: z.string() }, undefined),
      /^TypeError: Route GET \/d needs a handler function$/,
    );
    app.group("/g", (group) => {
      assert.throws(
        () =>
          (group as unknown as Record<string, (...args: unknown[]) => unknown>).put(
            "/x",
            { headers: 42 },
            handler,
          ),
        /^TypeError: PUT \/g\/x: headers must be a Standard Schema/,
      );
    });
  });
});

/** A params schema from one that validates the `n` param alone. */
function paramsOf(
  field: StandardSchemaV1<unknown, number>,
): StandardSchemaV1<unknown, { n: number }>["~standard"] {
  return {
    version: 1,
    vendor: "hand-made",
    validate: async (value) => {
      const result = await field["~standard"].validate((value as { n?: unknown }).n);
      if (result.issues) {
        return { issues: result.issues.map((issue) => ({ ...issue, path: ["n"] })) };
      }
      return { value: { n: result.value } };
    },
  };
}
