import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import {
  type CorsOptions,
  cors,
  HttpError,
  HttpResponse,
  SseEvent,
  StreamingResponse,
} from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { portOf, rawExchange } from "./support/raw-http.js";
import { sleep, within } from "./support/wait.js";

const APP_ORIGIN = "https://app.example";
const EVIL_ORIGIN = "https://evil.example";

function varyOf(headers: IncomingHttpHeaders): string[] {
  return String(headers.vary ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
}

function preflightHeaders(origin: string, method: string, requestHeaders?: string) {
  return {
    origin,
    "access-control-request-method": method,
    ...(requestHeaders ? { "access-control-request-headers": requestHeaders } : {}),
  };
}

/** Status line and head of a raw HTTP answer, header names lower-cased. */
function parseHead(raw: string): { status: number; headers: Map<string, string> } {
  const [statusLine, ...lines] = raw.slice(0, raw.indexOf("\r\n\r\n")).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers };
}

describe("cors() preflights", () => {
  test("a POST route's preflight is answered 204 before routing, with Allow-* and Vary", async () => {
    const app = quietApp();
    app.use(cors({ origin: APP_ORIGIN, maxAge: 600 }));
    let posted = 0;
    let optionsHandlerRan = 0;
    app.post("/items", () => {
      posted++;
      return { ok: true };
    });
    app.options("/items", () => {
      optionsHandlerRan++;
      return "own options";
    });
    await using client = await TestClient.start(app);
    const res = await client.request("OPTIONS", "/items", {
      headers: preflightHeaders(APP_ORIGIN, "POST", "Content-Type,X-Trace"),
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers["access-control-allow-origin"], APP_ORIGIN);
    assert.equal(
      res.headers["access-control-allow-methods"],
      "GET, HEAD, PUT, PATCH, POST, DELETE",
    );
    assert.equal(res.headers["access-control-allow-headers"], "Content-Type, X-Trace");
    assert.equal(res.headers["access-control-max-age"], "600");
    assert.equal(res.headers["access-control-allow-credentials"], undefined);
    assert.deepEqual(varyOf(res.headers), [
      "origin",
      "access-control-request-method",
      "access-control-request-headers",
    ]);
    assert.equal(res.text(), "");
    assert.equal(posted, 0, "the preflight does not run the route");
    assert.equal(optionsHandlerRan, 0, "nor an OPTIONS handler");
  });

  test("an SSE route (GET only) and an unknown path get a preflight answer too", async () => {
    const app = quietApp();
    app.use(cors({ origin: [APP_ORIGIN], credentials: true, allowedHeaders: ["Authorization"] }));
    app.sse("/events", async function* () {
      yield { never: "reached" };
    });
    await using client = await TestClient.start(app);
    for (const path of ["/events", "/no/such/path"]) {
      const res = await client.request("OPTIONS", path, {
        headers: preflightHeaders(APP_ORIGIN, "GET", "authorization,last-event-id"),
      });
      assert.equal(res.statusCode, 204, path);
      assert.equal(res.headers["access-control-allow-origin"], APP_ORIGIN, path);
      assert.equal(res.headers["access-control-allow-credentials"], "true", path);
      // An explicit list: not echoed, and Last-Event-ID (fetch-based SSE clients) is added.
      assert.equal(res.headers["access-control-allow-headers"], "Authorization, Last-Event-ID");
      assert.equal(res.headers.allow, undefined, "not the router's own OPTIONS answer");
      assert.deepEqual(varyOf(res.headers), ["origin", "access-control-request-method"], path);
    }
  });

  test('origin "*" without credentials: Allow-Origin *, and Vary only for what is echoed', async () => {
    const app = quietApp();
    app.use(cors({ methods: ["get", "post"] }));
    app.get("/x", () => "x");
    await using client = await TestClient.start(app);
    const res = await client.request("OPTIONS", "/x", {
      headers: preflightHeaders(APP_ORIGIN, "POST", "x-custom"),
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.equal(res.headers["access-control-allow-methods"], "GET, POST");
    assert.equal(res.headers["access-control-allow-headers"], "x-custom");
    assert.deepEqual(varyOf(res.headers), [
      "access-control-request-method",
      "access-control-request-headers",
    ]);
  });

  test("a disallowed origin's preflight is a 204 without CORS headers", async () => {
    const app = quietApp();
    app.use(cors({ origin: APP_ORIGIN, credentials: true }));
    app.post("/items", () => ({ ok: true }));
    await using client = await TestClient.start(app);
    const res = await client.request("OPTIONS", "/items", {
      headers: preflightHeaders(EVIL_ORIGIN, "POST", "content-type"),
    });
    assert.equal(res.statusCode, 204);
    for (const name of Object.keys(res.headers)) {
      assert.ok(!name.startsWith("access-control-"), `no ${name} for a disallowed origin`);
    }
    assert.ok(varyOf(res.headers).includes("origin"));
  });

  test("a plain OPTIONS (no Access-Control-Request-Method) goes on to the app", async () => {
    const app = quietApp();
    app.use(cors({ origin: APP_ORIGIN }));
    app.post("/items", () => ({ ok: true }));
    app.options("/own", () => "own options");
    await using client = await TestClient.start(app);
    const routed = await client.request("OPTIONS", "/items", { headers: { origin: APP_ORIGIN } });
    assert.equal(routed.statusCode, 204);
    assert.equal(routed.headers.allow, "POST", "the router's answer");
    assert.equal(routed.headers["access-control-allow-methods"], undefined);
    assert.equal(routed.headers["access-control-allow-origin"], APP_ORIGIN);
    const own = await client.request("OPTIONS", "/own", { headers: { origin: APP_ORIGIN } });
    assert.equal(own.statusCode, 200);
    assert.equal(own.text(), "own options");
    assert.equal(own.headers["access-control-allow-origin"], APP_ORIGIN);
    const noOrigin = await client.request("OPTIONS", "/own", {
      headers: { "access-control-request-method": "GET" },
    });
    assert.equal(noOrigin.text(), "own options", "a preflight needs an Origin");
  });
});

describe("cors() on actual requests", () => {
  const options: CorsOptions = {
    origin: [APP_ORIGIN],
    credentials: true,
    exposedHeaders: ["x-request-id", "X-Total"],
  };

  function assertCors(headers: IncomingHttpHeaders, what: string) {
    assert.equal(headers["access-control-allow-origin"], APP_ORIGIN, what);
    assert.equal(headers["access-control-allow-credentials"], "true", what);
    assert.equal(headers["access-control-expose-headers"], "x-request-id, X-Total", what);
    assert.ok(varyOf(headers).includes("origin"), `${what}: Vary ${headers.vary}`);
  }

  test("JSON answers carry the headers; a disallowed origin gets none but still runs", async () => {
    const app = quietApp();
    app.use(cors(options));
    let ran = 0;
    app.get("/users/:id", (req) => {
      ran++;
      return { id: req.params.id };
    });
    await using client = await TestClient.start(app);
    const res = await client.get("/users/7", { headers: { origin: APP_ORIGIN } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { id: "7" });
    assertCors(res.headers, "JSON");
    const refused = await client.get("/users/8", { headers: { origin: EVIL_ORIGIN } });
    assert.equal(refused.statusCode, 200);
    assert.equal(refused.headers["access-control-allow-origin"], undefined);
    assert.equal(refused.headers["access-control-allow-credentials"], undefined);
    assert.equal(refused.headers["access-control-expose-headers"], undefined);
    assert.deepEqual(varyOf(refused.headers), ["origin"], "caches still keep them apart");
    const sameOrigin = await client.get("/users/9");
    assert.equal(sameOrigin.headers["access-control-allow-origin"], undefined);
    assert.deepEqual(varyOf(sameOrigin.headers), ["origin"]);
    assert.equal(ran, 3, "CORS is not access control: every request ran");
  });

  test("an SSE stream's head carries the headers before the first event", async () => {
    const app = quietApp();
    app.use(cors(options));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.sse("/events", async function* () {
      await gate;
      yield new SseEvent({ data: "first", id: "1" });
    });
    await using client = await TestClient.start(app);
    const events = client.events("/events", { headers: { origin: APP_ORIGIN } });
    const head = await within(events.response, "the SSE head, before any event");
    assert.equal(head.statusCode, 200);
    assert.match(String(head.headers["content-type"]), /^text\/event-stream/);
    assertCors(head.headers, "SSE");
    release();
    const [first] = await within(events.take(1), "the first event");
    assert.equal(first.data, "first");
    await events.close();
  });

  test("a streaming response's head carries them too", async () => {
    const app = quietApp();
    app.use(cors(options));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.get(
      "/tokens",
      () =>
        new StreamingResponse(
          (async function* () {
            await gate;
            yield "done";
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    // Resolves once the head arrives: the producer is still waiting for the gate.
    const stream = await within(
      client.stream("GET", "/tokens", { headers: { origin: APP_ORIGIN } }),
      "the stream head, before any chunk",
    );
    assert.equal(stream.headers["transfer-encoding"], "chunked");
    assertCors(stream.headers, "stream head");
    release();
    assert.equal(await stream.text(), "done");
  });

  test("error answers (401, 404, 405, 500, SSE refusal) carry the headers", async () => {
    const app = quietApp();
    app.use(cors(options));
    app.use((req, next) => {
      if (req.path === "/private") throw new HttpError(401, "Sign in first");
      return next();
    });
    app.get("/private", () => "secret");
    app.get("/boom", () => {
      throw new Error("kaput");
    });
    app.sse("/feed", async function* () {
      yield* [];
      throw new HttpError(403, "not your feed");
    });
    await using client = await TestClient.start(app);
    const cases: [string, string, number][] = [
      ["GET", "/private", 401],
      ["GET", "/nowhere", 404],
      ["POST", "/boom", 405],
      ["GET", "/boom", 500],
      ["GET", "/feed", 403],
    ];
    for (const [method, path, status] of cases) {
      const res = await client.request(method, path, { headers: { origin: APP_ORIGIN } });
      assert.equal(res.statusCode, status, `${method} ${path}`);
      assertCors(res.headers, `${method} ${path} -> ${status}`);
      assert.equal(typeof res.json<{ requestId: string }>().requestId, "string");
    }
  });

  test("a Vary the handler, an HttpError or earlier middleware set is kept", async () => {
    const app = quietApp();
    app.use((req, next) => {
      req.setResponseHeader("vary", "Accept-Language");
      return next();
    });
    app.use(cors({ origin: APP_ORIGIN }));
    app.get("/json", () =>
      HttpResponse.json({ ok: true }, { headers: { Vary: "Accept-Encoding" } }),
    );
    app.get("/error", () => {
      throw new HttpError(406, "no", undefined, { headers: { vary: "Accept" } });
    });
    await using client = await TestClient.start(app);
    const json = await client.get("/json", { headers: { origin: APP_ORIGIN } });
    assert.deepEqual(varyOf(json.headers), ["accept-language", "origin", "accept-encoding"]);
    const error = await client.get("/error", { headers: { origin: APP_ORIGIN } });
    assert.equal(error.statusCode, 406);
    assert.deepEqual(varyOf(error.headers), ["accept-language", "origin", "accept"]);
  });

  test('a function\'s "*" answer with credentials echoes the origin, never sends *', async () => {
    const app = quietApp();
    app.use(cors({ credentials: true, origin: () => "*" }));
    app.get("/me", () => ({ user: "ada" }));
    await using client = await TestClient.start(app);
    for (const origin of [APP_ORIGIN, "http://localhost:5173"]) {
      const res = await client.get("/me", { headers: { origin } });
      assert.equal(res.headers["access-control-allow-origin"], origin);
      assert.equal(res.headers["access-control-allow-credentials"], "true");
      assert.ok(varyOf(res.headers).includes("origin"));
      const pre = await client.request("OPTIONS", "/me", {
        headers: preflightHeaders(origin, "GET"),
      });
      assert.equal(pre.headers["access-control-allow-origin"], origin);
      assert.equal(pre.headers["access-control-allow-credentials"], "true");
    }
    const noOrigin = await client.get("/me");
    assert.equal(noOrigin.headers["access-control-allow-origin"], undefined);
  });

  test('origin "*" without credentials sends * to everyone, with no Vary', async () => {
    const app = quietApp();
    app.use(cors());
    app.get("/open", () => "open");
    await using client = await TestClient.start(app);
    for (const headers of [{ origin: APP_ORIGIN }, {}]) {
      const res = await client.get("/open", { headers });
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
      assert.equal(res.headers.vary, undefined);
    }
  });
});

describe("cors() with credentials", () => {
  test('throws at creation without an explicit origin, or with origin "*", saying what to pass', () => {
    for (const options of [
      { credentials: true },
      { credentials: true, origin: undefined },
      { credentials: true, origin: "*" },
    ] as CorsOptions[]) {
      assert.throws(
        () => cors(options),
        (error: unknown) =>
          error instanceof TypeError &&
          /credentials: true needs an explicit origin/.test(error.message) &&
          error.message.includes('cors({ origin: ["https://app.example"], credentials: true })'),
        JSON.stringify(options),
      );
    }
    assert.doesNotThrow(() => cors({ credentials: false }), "no credentials: * is fine");
    for (const origin of [
      APP_ORIGIN,
      [APP_ORIGIN, "http://localhost:5173"],
      /^https:\/\/[a-z]+\.app\.example$/,
      () => true,
    ]) {
      assert.doesNotThrow(() => cors({ origin, credentials: true }), String(origin));
    }
  });

  test('throws at creation when the origin "null" is listed', () => {
    for (const origin of ["null", [APP_ORIGIN, "null"], [APP_ORIGIN, "NULL"]]) {
      assert.throws(
        () => cors({ origin, credentials: true }),
        /the origin "null" cannot be allowed with credentials/,
        String(origin),
      );
    }
    assert.doesNotThrow(() => cors({ origin: [APP_ORIGIN, "null"] }), "without credentials");
  });

  const trustingPolicies: { name: string; origin: (asked: string[]) => CorsOptions["origin"] }[] = [
    { name: "a RegExp matching anything", origin: () => /^.*$/ },
    {
      name: "a function answering true",
      origin: (asked) => (origin) => {
        asked.push(origin);
        return true;
      },
    },
    {
      name: "an async function answering the origin itself",
      origin: (asked) => async (origin) => {
        asked.push(origin);
        await sleep(1);
        return origin;
      },
    },
  ];

  for (const policy of trustingPolicies) {
    test(`${policy.name}: the Origin null is refused, other origins still allowed`, async () => {
      const app = quietApp();
      const asked: string[] = [];
      app.use(cors({ origin: policy.origin(asked), credentials: true }));
      let ran = 0;
      app.get("/me", () => {
        ran++;
        return { user: "ada" };
      });
      await using client = await TestClient.start(app);
      const allowed = await client.get("/me", { headers: { origin: APP_ORIGIN } });
      assert.equal(allowed.headers["access-control-allow-origin"], APP_ORIGIN, "the policy works");
      for (const origin of ["null", "NULL"]) {
        const res = await client.get("/me", { headers: { origin } });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers["access-control-allow-origin"], undefined, origin);
        assert.equal(res.headers["access-control-allow-credentials"], undefined, origin);
        assert.ok(varyOf(res.headers).includes("origin"));
        const pre = await client.request("OPTIONS", "/me", {
          headers: preflightHeaders(origin, "DELETE"),
        });
        assert.equal(pre.statusCode, 204);
        for (const name of Object.keys(pre.headers)) {
          assert.ok(!name.startsWith("access-control-"), `no ${name} for ${origin}'s preflight`);
        }
      }
      assert.equal(ran, 3, "CORS is not access control: the requests still ran");
      assert.ok(!asked.some((origin) => origin.toLowerCase() === "null"), "never asked");
    });
  }

  test('a function answering "null" as the header value gets no CORS headers', async () => {
    const app = quietApp();
    app.use(cors({ origin: () => "null", credentials: true }));
    app.get("/me", () => ({ user: "ada" }));
    await using client = await TestClient.start(app);
    const res = await client.get("/me", { headers: { origin: APP_ORIGIN } });
    assert.equal(res.headers["access-control-allow-origin"], undefined);
    assert.equal(res.headers["access-control-allow-credentials"], undefined);
    const pre = await client.request("OPTIONS", "/me", {
      headers: preflightHeaders(APP_ORIGIN, "GET"),
    });
    assert.equal(pre.headers["access-control-allow-origin"], undefined);
  });

  test("a preflight allows exactly the configured methods, not the one asked for", async () => {
    const app = quietApp();
    app.use(cors({ origin: [APP_ORIGIN], credentials: true, methods: ["get", "post"] }));
    app.delete("/items/:id", () => ({ deleted: true }));
    await using defaults = await TestClient.start(
      quietApp().use(cors({ origin: APP_ORIGIN, credentials: true })),
    );
    await using client = await TestClient.start(app);
    for (const method of ["DELETE", "PROPFIND", "GET"]) {
      const res = await client.request("OPTIONS", "/items/1", {
        headers: preflightHeaders(APP_ORIGIN, method),
      });
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers["access-control-allow-credentials"], "true");
      assert.equal(res.headers["access-control-allow-methods"], "GET, POST", method);
      const byDefault = await defaults.request("OPTIONS", "/items/1", {
        headers: preflightHeaders(APP_ORIGIN, method),
      });
      assert.equal(
        byDefault.headers["access-control-allow-methods"],
        "GET, HEAD, PUT, PATCH, POST, DELETE",
        `${method}, default methods`,
      );
    }
  });
});

describe("cors() origin forms", () => {
  const forms: {
    name: string;
    origin: CorsOptions["origin"];
    allowed: string[];
    refused: string[];
  }[] = [
    {
      name: "a string (normalised)",
      origin: "https://App.example/",
      allowed: [APP_ORIGIN],
      refused: [EVIL_ORIGIN, "http://app.example", "https://app.example:8443"],
    },
    {
      name: "an array",
      origin: [APP_ORIGIN, "http://localhost:5173", "null"],
      allowed: [APP_ORIGIN, "http://localhost:5173", "null"],
      refused: [EVIL_ORIGIN, "http://localhost:5174"],
    },
    {
      name: "a RegExp (global flag and all)",
      origin: /^https:\/\/[a-z0-9-]+\.app\.example$/g,
      allowed: ["https://eu.app.example", "https://eu.app.example", "https://us-1.app.example"],
      refused: [APP_ORIGIN, "https://eu.app.example.evil.example", "null"],
    },
    {
      name: "a sync function",
      origin: (origin) => origin.endsWith(".trusted.example"),
      allowed: ["https://a.trusted.example"],
      refused: [EVIL_ORIGIN, "null"],
    },
    {
      name: "an async function",
      origin: async (origin, req) => {
        await sleep(2);
        return req.path === "/hi" && origin === "https://async.example";
      },
      allowed: ["https://async.example"],
      refused: [EVIL_ORIGIN],
    },
  ];

  for (const form of forms) {
    test(form.name, async () => {
      const app = quietApp();
      app.use(cors({ origin: form.origin, maxAge: 60 }));
      let ran = 0;
      app.get("/hi", () => {
        ran++;
        return "hi";
      });
      await using client = await TestClient.start(app);
      for (const origin of form.allowed) {
        const res = await client.get("/hi", { headers: { origin } });
        assert.equal(res.headers["access-control-allow-origin"], origin, `${origin} allowed`);
        assert.ok(varyOf(res.headers).includes("origin"));
        const pre = await client.request("OPTIONS", "/hi", {
          headers: preflightHeaders(origin, "GET"),
        });
        assert.equal(pre.statusCode, 204);
        assert.equal(pre.headers["access-control-allow-origin"], origin, `${origin} preflight`);
        assert.equal(pre.headers["access-control-max-age"], "60");
      }
      for (const origin of form.refused) {
        const res = await client.get("/hi", { headers: { origin } });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers["access-control-allow-origin"], undefined, `${origin} refused`);
        assert.ok(varyOf(res.headers).includes("origin"));
        const pre = await client.request("OPTIONS", "/hi", {
          headers: preflightHeaders(origin, "GET"),
        });
        assert.equal(pre.headers["access-control-allow-origin"], undefined, `${origin} preflight`);
        assert.equal(pre.headers["access-control-allow-methods"], undefined);
      }
      assert.equal(ran, form.allowed.length + form.refused.length);
    });
  }

  test("a function's string answer is the header's value", async () => {
    const app = quietApp();
    app.use(cors({ origin: (origin) => (origin === APP_ORIGIN ? "*" : undefined) }));
    app.get("/hi", () => "hi");
    await using client = await TestClient.start(app);
    assert.equal(
      (await client.get("/hi", { headers: { origin: APP_ORIGIN } })).headers[
        "access-control-allow-origin"
      ],
      "*",
    );
    assert.equal(
      (await client.get("/hi", { headers: { origin: EVIL_ORIGIN } })).headers[
        "access-control-allow-origin"
      ],
      undefined,
    );
  });

  test("a throwing origin function is a logged 500, not a crash", async () => {
    const app = quietApp();
    app.use(
      cors({
        origin: async () => {
          throw new Error("origin store down");
        },
      }),
    );
    app.get("/hi", () => "hi");
    await using client = await TestClient.start(app);
    const res = await client.get("/hi", { headers: { origin: APP_ORIGIN } });
    assert.equal(res.statusCode, 500);
    assert.equal((await client.get("/hi")).statusCode, 200, "not asked without an Origin");
  });

  test("bad options throw at once", () => {
    assert.throws(() => cors({ origin: "https://app.example/path" }), /not an origin/);
    assert.throws(() => cors({ origin: ["https://app.example", "*"] }), /use origin: "\*"/);
    assert.throws(() => cors({ origin: "app.example" }), /not an origin/);
    assert.throws(() => cors({ origin: 42 as unknown as string }), /origin must be/);
    assert.throws(
      () => cors({ exposeHeaders: ["x"] } as CorsOptions),
      /did you mean "exposedHeaders"/,
    );
    assert.throws(
      () => cors({ origin: APP_ORIGIN, credentials: true, exposedHeaders: "*" }),
      /wildcard only without/,
    );
    assert.throws(
      () => cors({ origin: APP_ORIGIN, credentials: true, methods: ["*"] }),
      /wildcard only without/,
    );
    assert.throws(() => cors({ allowedHeaders: ["bad header"] }), /invalid entry/);
    assert.throws(() => cors({ maxAge: -1 }), /maxAge/);
    assert.throws(() => cors({ maxAge: 1.5 }), /maxAge/);
    assert.throws(() => cors({ credentials: "yes" as unknown as boolean }), /credentials/);
    assert.doesNotThrow(() => cors({ exposedHeaders: "*", allowedHeaders: "*", methods: "*" }));
  });
});

describe("cors() and malformed Origin headers", () => {
  const long = `https://${"a".repeat(10_000)}.example`;
  const malformed = [
    "garbage",
    "https://app.example/path",
    "https://app.example, https://evil.example",
    "https://app.example:99999999",
    "https://\xe9t\xe9.example",
    "https://app.example\\@evil.example",
    "*",
    "",
    long,
  ];
  const configs: {
    name: string;
    options: (seen: string[]) => CorsOptions;
    nullAllowed: boolean;
    asks: boolean;
  }[] = [
    { name: "a list", options: () => ({ origin: [APP_ORIGIN] }), nullAllowed: false, asks: false },
    {
      name: "a list with credentials",
      options: () => ({ origin: [APP_ORIGIN], credentials: true }),
      nullAllowed: false,
      asks: false,
    },
    {
      name: "a function that allows all, with credentials (never asked about null)",
      options: (seen) => ({
        credentials: true,
        origin: (origin) => {
          seen.push(origin);
          return "*"; // echoes what it is asked about
        },
      }),
      nullAllowed: false,
      asks: false,
    },
    {
      name: "a RegExp",
      options: () => ({ origin: /^https:\/\/.*$/ }),
      nullAllowed: false,
      asks: false,
    },
    {
      name: "a function",
      options: (seen) => ({
        origin: (origin) => {
          seen.push(origin);
          return true;
        },
      }),
      nullAllowed: true,
      asks: true,
    },
  ];

  for (const config of configs) {
    test(`${config.name}: never a 500, never an echoed malformed origin`, async () => {
      const app = quietApp();
      const seen: string[] = [];
      app.use(cors(config.options(seen)));
      app.get("/hi", () => "hi");
      await using client = await TestClient.start(app);
      const port = portOf(client.url);
      const ask = async (head: string) =>
        parseHead(
          await rawExchange(port, `${head}Host: x\r\nConnection: close\r\n\r\n`, (received) =>
            received.includes("\r\n\r\nhi"),
          ),
        );
      for (const origin of malformed) {
        for (const preflight of [false, true]) {
          const head = preflight
            ? `OPTIONS /hi HTTP/1.1\r\nOrigin: ${origin}\r\nAccess-Control-Request-Method: GET\r\n`
            : `GET /hi HTTP/1.1\r\nOrigin: ${origin}\r\n`;
          const { status, headers } = await ask(head);
          const what = `${JSON.stringify(origin.slice(0, 60))}${preflight ? " preflight" : ""}`;
          assert.equal(status, preflight ? 204 : 200, what);
          assert.equal(headers.get("access-control-allow-origin"), undefined, what);
        }
      }
      // Two Origin lines: Node joins them; the pair is not one origin.
      const twice = await ask(
        `GET /hi HTTP/1.1\r\nOrigin: ${APP_ORIGIN}\r\nOrigin: ${APP_ORIGIN}\r\n`,
      );
      assert.equal(twice.status, 200);
      assert.equal(twice.headers.get("access-control-allow-origin"), undefined);
      const nullOrigin = await ask("GET /hi HTTP/1.1\r\nOrigin: null\r\n");
      assert.equal(nullOrigin.status, 200);
      assert.equal(
        nullOrigin.headers.get("access-control-allow-origin"),
        config.nullAllowed ? "null" : undefined,
      );
      assert.deepEqual(
        seen,
        config.asks ? ["null"] : [],
        "only well-formed origins are asked about",
      );
    });
  }

  test("a malformed Access-Control-Request-Headers is not echoed", async () => {
    const app = quietApp();
    app.use(cors({ origin: APP_ORIGIN }));
    app.get("/hi", () => "hi");
    await using client = await TestClient.start(app);
    const raw = await rawExchange(
      portOf(client.url),
      `OPTIONS /hi HTTP/1.1\r\nHost: x\r\nOrigin: ${APP_ORIGIN}\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-ok, bad header, \xff\r\nConnection: close\r\n\r\n`,
    );
    const { status, headers } = parseHead(raw);
    assert.equal(status, 204);
    assert.equal(headers.get("access-control-allow-origin"), APP_ORIGIN);
    assert.equal(headers.get("access-control-allow-headers"), undefined);
  });
});

describe("cors() and WebSockets", () => {
  test("upgrades go through untouched, whatever the origin (the route's own origins decide)", async () => {
    const app = quietApp();
    app.use(cors({ origin: [APP_ORIGIN], credentials: true }));
    // "*": the route lets any origin in, so only cors() could refuse one here, and it must not.
    app.websocket("/ws", { origins: "*" }, async (socket) => {
      for await (const message of socket) await socket.send(`echo ${message}`);
    });
    await using client = await TestClient.start(app);
    for (const headers of [{ origin: APP_ORIGIN }, { origin: EVIL_ORIGIN }, {}]) {
      const ws = await client.websocketConnect("/ws", { headers });
      await ws.send("hi");
      assert.equal(await within(ws.receive(), "the echo"), "echo hi");
      await ws.close();
    }
  });
});

// The page's globals, typed just enough for the callbacks that run inside Chromium (the
// project's tsconfig has Node's types, not the DOM's).
interface PageEventSource {
  readyState: number;
  onmessage: ((event: { data: string }) => void) | null;
  onerror: (() => void) | null;
  close(): void;
}
declare const EventSource: new (
  url: string,
  init?: { withCredentials?: boolean },
) => PageEventSource;

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("cors() with EventSource in Chromium", {
  skip: !existsSync(CHROMIUM) && "no Chromium",
}, () => {
  let browser: Browser;
  const page = quietApp();
  let pageOrigin: string;

  before(async () => {
    page.get("/", () =>
      HttpResponse.text("<!doctype html><title>cors</title>", {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
    );
    pageOrigin = (await page.listen({ port: 0, host: "127.0.0.1" })).url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });

  after(async () => {
    await browser?.close();
    await page.close();
  });

  /** Opens `new EventSource(url, { withCredentials: true })` from the page's origin. */
  async function openFromPage(allowed: string): Promise<{
    outcome: { messages: string[]; error: boolean; readyState: number };
    seen: string[];
  }> {
    const app = quietApp();
    const seen: string[] = [];
    app.use(cors({ origin: allowed, credentials: true }));
    app.sse("/events", async function* (req) {
      seen.push(req.header("origin") ?? "(none)");
      yield "one";
      yield "two";
      await sleep(60_000, undefined, { signal: req.signal }).catch(() => {});
    });
    const server = await app.listen({ port: 0, host: "127.0.0.1" });
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(pageOrigin);
      const url = `http://localhost:${portOf(server.url)}/events`;
      const outcome = await tab.evaluate(
        (target) =>
          new Promise<{ messages: string[]; error: boolean; readyState: number }>((resolve) => {
            const messages: string[] = [];
            const source = new EventSource(target, { withCredentials: true });
            // No function held in a variable here: tsx would wrap it in a `__name` helper
            // that does not exist inside the page.
            source.onmessage = (event) => {
              messages.push(event.data);
              if (messages.length < 2) return;
              resolve({ messages, error: false, readyState: source.readyState });
              source.close();
            };
            source.onerror = () => {
              resolve({ messages, error: true, readyState: source.readyState });
              source.close();
            };
          }),
        url,
      );
      return { outcome, seen };
    } finally {
      await context.close();
      await app.close({ timeout: 1000 });
    }
  }

  test("an allowed page origin receives events with credentials; another one fails", async () => {
    const allowed = pageOrigin;
    const ok = await within(openFromPage(allowed), "EventSource from the allowed origin", 15_000);
    assert.deepEqual(ok.outcome, { messages: ["one", "two"], error: false, readyState: 1 });
    assert.deepEqual(ok.seen, [allowed]);

    const refused = await within(
      openFromPage("http://127.0.0.1:1"),
      "EventSource from a disallowed origin",
      15_000,
    );
    assert.equal(refused.outcome.error, true);
    assert.deepEqual(refused.outcome.messages, [], "the browser hid the events");
    assert.ok(refused.seen.length >= 1, "the request reached the server: CORS is not auth");
  });

  test("a sandboxed iframe (Origin null) cannot read a credentialed answer, even when the origin function says yes", async () => {
    const app = quietApp();
    const seen: string[] = [];
    // Trusts every origin it is asked about: only the null rule can refuse the iframe.
    app.use(cors({ origin: () => true, credentials: true }));
    app.get("/me", (req) => {
      seen.push(req.header("origin") ?? "(none)");
      return "ada";
    });
    const server = await app.listen({ port: 0, host: "127.0.0.1" });
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(pageOrigin);
      const target = JSON.stringify(`http://localhost:${portOf(server.url)}/me`);
      const fetchThenReport = `fetch(${target}, { credentials: "include" }).then((r) => r.text()).then((text) => parent.postMessage("read " + text, "*"), () => parent.postMessage("refused", "*"))`;
      // A string, not a function: it runs in the page, where the project's types do not apply.
      const fromPage = await tab.evaluate(
        `new Promise((resolve) => { addEventListener("message", (event) => resolve(event.data), { once: true }); ${fetchThenReport.replaceAll("parent.postMessage", "postMessage")}; })`,
      );
      assert.equal(fromPage, "read ada", "the page's own origin reads it (the setup works)");
      const fromSandbox = await within(
        tab.evaluate(
          `new Promise((resolve) => {
            addEventListener("message", (event) => resolve(event.data), { once: true });
            const frame = document.createElement("iframe");
            frame.setAttribute("sandbox", "allow-scripts");
            frame.srcdoc = ${JSON.stringify(`<script>${fetchThenReport}</scr`)} + "ipt>";
            document.body.appendChild(frame);
          })`,
        ),
        "the sandboxed iframe's answer",
        15_000,
      );
      assert.equal(fromSandbox, "refused", "the browser hid the answer from the null origin");
      assert.deepEqual(seen, [pageOrigin, "null"], "both requests reached the server");
    } finally {
      await context.close();
      await app.close({ timeout: 1000 });
    }
  });
});
