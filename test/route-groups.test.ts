import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createRouteGroupsApp } from "../examples/guide/route-groups.js";
import { App, HttpError, type Middleware } from "../src/index.js";
import { TestClient, WebSocketUpgradeError } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger, errorLines } from "./support/logging.js";
import { sleep } from "./support/wait.js";

/** Refuses with 401 unless the request carries `x-key: <key>`. */
function requireKey(key: string): Middleware {
  return (req, next) => {
    if (req.header("x-key") !== key) throw new HttpError(401, `${key} key required`);
    return next();
  };
}

describe("app.group(prefix, build): routes under a prefix, with middleware of their own", () => {
  test("HTTP, SSE and WebSocket routes under the prefix, all behind the group's middleware", async () => {
    const app = quietApp();
    app.group("/admin", (admin) => {
      admin.use(requireKey("admin"));
      admin.get("/", () => "admin home");
      admin.get("/users", () => ["ada"]);
      admin.post("/users", () => ({ created: true }));
      admin.all("/anything", (req) => req.method);
      admin.sse("/events", async function* () {
        yield "hello";
      });
      admin.websocket("/live", async (socket) => {
        await socket.send("live");
      });
    });
    app.get("/public", () => "public");
    await using client = await TestClient.start(app);
    const key = { headers: { "x-key": "admin" } };

    assert.equal(
      (await client.get("/admin", key)).text(),
      "admin home",
      '"/" is the prefix itself',
    );
    assert.deepEqual((await client.get("/admin/users", key)).json(), ["ada"]);
    assert.deepEqual((await client.post("/admin/users", key)).json(), { created: true });
    assert.equal((await client.request("PATCH", "/admin/anything", key)).text(), "PATCH");
    const events = client.events("/admin/events", key);
    assert.equal((await events.take(1))[0].data, "hello");
    await events.close();
    const socket = await client.websocketConnect("/admin/live", key);
    assert.equal(await socket.receive(), "live");
    await socket.close();

    for (const path of ["/admin", "/admin/users", "/admin/events", "/admin/nope"]) {
      const refused = await client.get(path);
      assert.equal(refused.statusCode, 401, `${path} is guarded`);
      assert.equal(refused.json<{ message: string }>().message, "admin key required");
    }
    await assert.rejects(
      client.websocketConnect("/admin/live"),
      (error) => error instanceof WebSocketUpgradeError && error.statusCode === 401,
    );
    assert.equal((await client.get("/public")).text(), "public", "nothing outside is guarded");
    assert.equal((await client.get("/admin/nope", key)).statusCode, 404);
  });

  test("groups nest: an inner group's middleware guards only its own prefix", async () => {
    const app = quietApp();
    const order: string[] = [];
    app.use((_req, next) => {
      order.push("app");
      return next();
    });
    app.group("/api", (api) => {
      api.use((_req, next) => {
        order.push("api");
        return next();
      });
      api.get("/status", () => "ok");
      api.group("/reports", (reports) => {
        reports.use(requireKey("reports"));
        reports.get("/daily", () => "daily");
      });
      api.get("/after", () => "after");
    });
    await using client = await TestClient.start(app);
    assert.equal((await client.get("/api/status")).text(), "ok");
    assert.deepEqual(order, ["app", "api"]);
    assert.equal((await client.get("/api/after")).text(), "after");
    assert.equal((await client.get("/api/reports/daily")).statusCode, 401);
    order.length = 0;
    const daily = await client.get("/api/reports/daily", { headers: { "x-key": "reports" } });
    assert.equal(daily.text(), "daily");
    assert.deepEqual(order, ["app", "api"]);
  });

  test("a prefix with a :param gives it to the group's routes; use(path) is relative to the prefix", async () => {
    const app = quietApp();
    app.group("/orgs/:org", (org) => {
      org.use("/billing/*", requireKey("billing"));
      org.get("/members/:member", (req) => ({ org: req.params.org, member: req.params.member }));
      org.get("/billing/invoices", (req) => ({ org: req.params.org, invoices: [] }));
    });
    await using client = await TestClient.start(app);
    assert.deepEqual((await client.get("/orgs/acme/members/ada")).json(), {
      org: "acme",
      member: "ada",
    });
    assert.equal((await client.get("/orgs/acme/billing/invoices")).statusCode, 401);
    const invoices = await client.get("/orgs/acme/billing/invoices", {
      headers: { "x-key": "billing" },
    });
    assert.deepEqual(invoices.json(), { org: "acme", invoices: [] });
  });

  test("a group's routes are the app's: one already there is a conflict", () => {
    const app = quietApp();
    app.get("/admin/users", () => "users");
    assert.throws(
      () => app.group("/admin", (admin) => admin.get("/users", () => "again")),
      /Route GET \/admin\/users is already registered/,
    );
  });

  test("bad prefixes, paths and builders are refused with what to write instead", () => {
    const app = quietApp();
    const noop = () => {};
    for (const prefix of ["admin", "/admin/", "/", ""]) {
      assert.throws(() => app.group(prefix, noop), {
        name: "TypeError",
        message:
          /the prefix must be a path like "\/admin" \(starting with "\/", not ending with it\)/,
      });
    }
    assert.throws(() => app.group("/files/*", noop), {
      name: "TypeError",
      message: 'group("/files/*"): a prefix cannot hold a "*" wildcard',
    });
    assert.throws(() => app.group("/admin", (admin) => admin.get("users", () => "")), {
      name: "TypeError",
      message:
        'group("/admin").route(): the path must start with "/" (relative to the prefix; "/" is the prefix itself), got "users"',
    });
    assert.throws(() => app.group("/admin", (admin) => admin.use("reports/*", noop)), {
      name: "TypeError",
      message: /group\("\/admin"\)\.use\(\): the path must start with "\/"/,
    });
    // @ts-expect-error: the handler is missing, which the types say too
    assert.throws(() => app.group("/admin", (admin) => admin.sse("/events", {})), {
      name: "TypeError",
      message: "SSE route /admin/events needs a handler function",
    });
    assert.throws(() => app.group("/admin", undefined as never), {
      name: "TypeError",
      message: 'group("/admin", build): build must be a function that adds routes',
    });
    assert.throws(
      () =>
        app.group("/later", async (later) => {
          later.get("/x", () => "x");
        }),
      { name: "TypeError", message: /build must add its routes synchronously/ },
    );
  });
});

describe("examples/guide/route-groups.ts", () => {
  test("the admin group is guarded as a whole; its ticker starts on listen and stops on close", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = createRouteGroupsApp(new App({ logger }), { tickMs: 10 });
    const client = await TestClient.start(app);
    const ada = { headers: { authorization: "Bearer t-ada" } };
    const bob = { headers: { authorization: "Bearer t-bob" } };

    assert.deepEqual((await client.get("/status")).json(), { ok: true });
    assert.equal((await client.get("/admin/whoami")).statusCode, 401);
    assert.equal((await client.get("/admin/no-such-page")).statusCode, 401);
    assert.equal((await client.get("/admin/whoami", bob)).statusCode, 403);
    assert.deepEqual((await client.get("/admin/whoami", ada)).json(), { name: "ada" });
    assert.deepEqual((await client.get("/admin/users/bob", ada)).json(), {
      name: "bob",
      admin: false,
    });
    assert.equal((await client.get("/admin/users/eve", ada)).statusCode, 404);

    const ticks = client.events("/admin/ticks", ada);
    const [first, second] = await ticks.take(2);
    assert.equal(JSON.parse(second.data).count, JSON.parse(first.data).count + 1);
    assert.ok(lines.some((line) => line.msg === "ticker started"));

    await client.close();
    await app.close();
    await sleep(50); // five ticks' time: a ticker left running would publish to a closed broker
    assert.deepEqual(errorLines(lines), []);
  });
});
