// Issue 17, point 1: what middleware sees as req.path and what the router matches are one
// canonical string, so a guard on the path cannot be skipped by another spelling of it. The
// guard below is the deny-list kind the old guide taught (`if (path.startsWith("/admin"))`),
// the easiest to get around: every spelling of the guarded paths is sent on raw sockets
// (clients would normalise some of them away) to an HTTP route, an SSE route and a WebSocket
// route, without and then with credentials.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { canonicalPath } from "../src/http/canonical-path.js";
import { type App, HttpError, SseEvent } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { rawExchange } from "./support/raw-http.js";

const TOKEN = "Bearer admin-token";

interface Reached {
  http: string[];
  sse: string[];
  websocket: string[];
}

function guardedApp(reached: Reached): App {
  const app = quietApp();
  app.use((req, next) => {
    if (req.path.startsWith("/admin") && req.header("authorization") !== TOKEN) {
      throw new HttpError(401, "admins only");
    }
    return next();
  });
  app.get("/admin", (req) => {
    reached.http.push(req.path);
    return { path: req.path };
  });
  app.sse("/admin/events", async function* (req) {
    reached.sse.push(req.path);
    yield new SseEvent({ data: "secret" });
  });
  app.websocket("/admin/ws", { origins: "*" }, async (socket) => {
    reached.websocket.push(socket.request.path);
    socket.send("secret");
    socket.close();
  });
  app.get("/public", (req) => ({ path: req.path }));
  return app;
}

/**
 * Spellings of `/admin` followed by `rest`: the status expected without credentials, and with
 * them (only the spellings that mean the route itself reach it).
 */
function spellings(rest: string, port: number, ok: number): [string, number, number][] {
  return [
    [`/admin${rest}`, 401, ok],
    [`/%61dmin${rest}`, 401, ok],
    [`/%61%64%6d%69%6e${rest}`, 401, ok],
    [`/%61%64%6D%69%6E${rest}`, 401, ok],
    [`/ad%6Din${rest}`, 401, ok],
    [`/ad%6din${rest}`, 401, ok],
    [`http://127.0.0.1:${port}/%61dmin${rest}`, 401, ok],
    [`HTTP://127.0.0.1:${port}/admin${rest}`, 401, ok],
    [`/%61dmin${rest}?next=/public`, 401, ok],
    // Decoded once: %25 is a literal "%", so this is the path "/%61dmin", not the route.
    [`/%2561dmin${rest}`, 404, 404],
    [`/%252561dmin${rest}`, 404, 404],
    // Dot segments, raw or encoded, are refused rather than resolved.
    [`/x/../admin${rest}`, 400, 400],
    [`/x/%2e%2e/admin${rest}`, 400, 400],
    [`/x/%2E%2E/admin${rest}`, 400, 400],
    [`/x/.%2e/admin${rest}`, 400, 400],
    [`/./admin${rest}`, 400, 400],
    [`/%2e/admin${rest}`, 400, 400],
    [`/admin${rest}/.`, 400, 400],
    [`/admin${rest}/..`, 400, 400],
    // Encoded separators would change the segments.
    [`/%2fadmin${rest}`, 400, 400],
    [`/%2Fadmin${rest}`, 400, 400],
    [`/x%2f..%2fadmin${rest}`, 400, 400],
    [`/%5cadmin${rest}`, 400, 400],
    [`/%5Cadmin${rest}`, 400, 400],
    [`/\\admin${rest}`, 400, 400],
    // Other spellings are other paths: the router does not route them to the guarded ones.
    [`/admin${rest};`, 401, 404],
    [`/admin;x=1${rest}`, 401, 404],
    [`/;/admin${rest}`, 404, 404],
    [`//admin${rest}`, 404, 404],
    [`/admin${rest}/`, 401, 404],
    [`/admin${rest}.`, 401, 404],
    [`/ADMIN${rest}`, 404, 404],
    [`/aDmIn${rest}`, 404, 404],
    [`/%41dmin${rest}`, 404, 404],
    // Not UTF-8, overlong, NUL, control characters, broken escapes.
    [`/%c0%afadmin${rest}`, 400, 400],
    [`/%C0%AE%C0%AE/admin${rest}`, 400, 400],
    [`/%e0%80%afadmin${rest}`, 400, 400],
    [`/%ff/admin${rest}`, 400, 400],
    [`/%00/admin${rest}`, 400, 400],
    [`/admin%00${rest}`, 400, 400],
    [`/admin${rest}%0a`, 400, 400],
    [`/%zzadmin${rest}`, 400, 400],
    [`/%u0061dmin${rest}`, 400, 400],
    [`/admin${rest}%`, 400, 400],
    [`/admin${rest}%6`, 400, 400],
  ];
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? Number.NaN);
}

function requestHead(target: string, port: number, headers: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}Connection: close\r\n\r\n`;
}

const UPGRADE =
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

async function exchange(port: number, target: string, headers: string): Promise<string> {
  // An upgrade answered with 101 stays open: stop at the head. Others close after the body.
  return rawExchange(port, requestHead(target, port, headers), (received) =>
    received.startsWith("HTTP/1.1 101") ? received.includes("\r\n\r\n") : false,
  );
}

describe("one canonical path for middleware and router", () => {
  const reached: Reached = { http: [], sse: [], websocket: [] };
  let app: App;
  let port: number;

  before(async () => {
    app = guardedApp(reached);
    port = (await app.listen({ port: 0, host: "127.0.0.1" })).port;
  });
  after(() => app.close());

  const cases = [
    { name: "HTTP", rest: "", ok: 200, headers: "", log: () => reached.http },
    { name: "SSE", rest: "/events", ok: 200, headers: "", log: () => reached.sse },
    {
      name: "WebSocket upgrade",
      rest: "/ws",
      ok: 101,
      headers: UPGRADE,
      log: () => reached.websocket,
    },
  ];

  for (const { name, rest, ok, headers, log } of cases) {
    test(`${name}: no spelling reaches the guarded handler without credentials`, async () => {
      for (const [target, expected] of spellings(rest, port, ok)) {
        const answer = await exchange(port, target, headers);
        assert.equal(statusOf(answer), expected, `${target}: ${answer.split("\r\n")[0]}`);
      }
      assert.deepEqual(log(), [], "the guarded handler ran without credentials");
    });

    test(`${name}: with credentials, the spellings of the route itself reach it, as its canonical path`, async () => {
      log().length = 0;
      let expectedVisits = 0;
      for (const [target, , expected] of spellings(rest, port, ok)) {
        const answer = await exchange(port, target, `${headers}Authorization: ${TOKEN}\r\n`);
        assert.equal(statusOf(answer), expected, `${target}: ${answer.split("\r\n")[0]}`);
        if (expected === ok) expectedVisits++;
      }
      await waitForLength(log(), expectedVisits);
      assert.ok(expectedVisits >= 9);
      assert.deepEqual(new Set(log()), new Set([`/admin${rest}`]));
    });
  }

  test("a refused path says why in its 400", async () => {
    const answers = {
      "/%2fadmin": /encoded \/ or \\/,
      "/x/%2e%2e/admin": /\. or \.\. segment/,
      "/%c0%afadmin": /not valid UTF-8/,
      "/%00/admin": /control character/,
      "/%zzadmin": /Malformed percent-encoding/,
    };
    for (const [target, message] of Object.entries(answers)) {
      const answer = await exchange(port, target, "");
      assert.equal(statusOf(answer), 400, target);
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { message: string };
      assert.match(body.message, message, target);
    }
  });

  test("a real ws client on an encoded path is refused before the upgrade (issue 17's report)", async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/%61dmin/ws`);
    const status = await new Promise<number>((resolve, reject) => {
      socket.on("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      socket.on("open", () => reject(new Error("the socket opened without credentials")));
      socket.on("error", reject);
    });
    assert.equal(status, 401);
    const allowed = new WebSocket(`ws://127.0.0.1:${port}/%61dmin/ws`, {
      headers: { authorization: TOKEN },
    });
    const message = await new Promise<string>((resolve, reject) => {
      allowed.on("message", (data) => resolve(String(data)));
      allowed.on("error", reject);
    });
    assert.equal(message, "secret");
  });

  test("fetch: req.path is decoded and params come from it", async () => {
    const other = quietApp();
    other.get("/users/:name/files/*", (req) => ({ path: req.path, params: req.params }));
    const { port: otherPort } = await other.listen({ port: 0, host: "127.0.0.1" });
    try {
      const res = await fetch(
        `http://127.0.0.1:${otherPort}/users/caf%C3%A9%20au%20lait/files/a/b%3Fc`,
      );
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        path: "/users/café au lait/files/a/b?c",
        params: { name: "café au lait", "*": "a/b?c" },
      });
    } finally {
      await other.close();
    }
  });
});

describe("canonicalPath()", () => {
  test("paths that need no work come back as they are", () => {
    for (const path of ["/", "/admin", "/a/b/c", "/a-b_c~d.e", "/a/.b/..c/...", "/:x", "/a;b=c"]) {
      assert.deepEqual(canonicalPath(path), { path });
    }
  });

  test("decodes every escape exactly once, and raw UTF-8 bytes (as Node hands them, Latin-1)", () => {
    assert.deepEqual(canonicalPath("/%61dmin"), { path: "/admin" });
    assert.deepEqual(canonicalPath("/caf%c3%A9"), { path: "/café" });
    assert.deepEqual(canonicalPath("/%2561"), { path: "/%61" });
    assert.deepEqual(canonicalPath(`/${Buffer.from("café").toString("latin1")}`), {
      path: "/café",
    });
    assert.deepEqual(canonicalPath("/%F0%9F%98%80"), { path: "/😀" });
  });

  test("refuses what has no safe canonical form", () => {
    for (const path of [
      "*",
      "admin",
      "",
      "/%2F",
      "/%5c",
      "/\\",
      "/..",
      "/a/./b",
      "/%2e",
      "/%C0%80",
      "/%ED%A0%80", // a UTF-16 surrogate encoded as UTF-8
      "/%F4%90%80%80", // past U+10FFFF
      "/%",
      "/%1",
      "/%G0",
      "/%7F",
      "/%1F",
    ]) {
      assert.ok(canonicalPath(path).problem, `${JSON.stringify(path)} should be refused`);
    }
  });
});

async function waitForLength(list: string[], length: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (list.length < length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(list.length, length, `handler visits: ${JSON.stringify(list)}`);
}
