// Origin patterns ("http://localhost:*", "https://*.example.com") in a WebSocket route's
// `origins` and in cors({ origin }), and the log line of a refused origin, which says which
// option lets it in.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { originListMatcher } from "../src/http/origin-pattern.js";
import { App, cors } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger, type LogLine } from "./support/logging.js";
import { waitFor, within } from "./support/wait.js";

/** Exact entries as the callers normalise them (enough for the table: they are origins). */
const exact = (entry: unknown) => String(entry).toLowerCase();

function matcher(...entries: string[]) {
  return originListMatcher(entries, exact, "test:");
}

/** A real `ws` client sending `origin`: "open" or the status of the refused upgrade. */
async function upgradeFrom(client: TestClient, path: string, origin: string): Promise<string> {
  const ws = new WebSocket(`${client.url.replace(/^http/, "ws")}${path}`, { origin });
  const outcome = await within(
    new Promise<string>((resolve) => {
      ws.on("open", () => resolve("open"));
      ws.on("unexpected-response", (_request, response: IncomingMessage) =>
        resolve(String(response.statusCode)),
      );
      ws.on("error", (error) => resolve(`error: ${error.message}`));
    }),
    `the upgrade of ${path} from ${origin}`,
  );
  ws.terminate();
  return outcome;
}

describe("origin patterns", () => {
  const table: [pattern: string, origin: string, allowed: boolean][] = [
    // Any port.
    ["http://localhost:*", "http://localhost:5173", true],
    ["http://localhost:*", "http://localhost:3000", true],
    ["http://localhost:*", "http://localhost", true], // the default port is a port
    ["http://localhost:*", "http://LOCALHOST:8080", true], // compared case-insensitively
    ["HTTP://LocalHost:*", "http://localhost:8080", true],
    ["http://localhost:*", "https://localhost:5173", false], // the scheme is compared
    ["http://localhost:*", "http://localhost.evil.example:5173", false],
    ["http://localhost:*", "http://evil.example", false],
    ["http://localhost:*", "http://127.0.0.1:5173", false], // another host
    ["http://localhost:*", "http://localhost:5173/path", false], // not an origin
    ["http://localhost:*", "http://user@localhost:5173", false],
    ["http://localhost:*", "null", false],
    ["http://127.0.0.1:*", "http://127.0.0.1:5173", true],
    ["http://[::1]:*", "http://[::1]:5173", true],
    // Any subdomain.
    ["https://*.example.com", "https://app.example.com", true],
    ["https://*.example.com", "https://a.b.example.com", true],
    ["https://*.example.com", "https://App.Example.com", true],
    ["https://*.example.com", "https://example.com", false], // not the domain itself
    ["https://*.example.com", "https://evilexample.com", false],
    ["https://*.example.com", "https://example.com.evil.example", false],
    ["https://*.example.com", "https://app.example.com.", false],
    ["https://*.example.com", "http://app.example.com", false],
    ["https://*.example.com", "https://app.example.com:8443", false], // default port only
    ["https://*.example.com", "https://app.example.com:443", true], // the default, written out
    ["https://*.example.com", "https://*.example.com", false], // a literal * is no host
    ["https://*.example.com", "https://.example.com", false],
    ["https://*.example.com:*", "https://app.example.com:8443", true],
    ["https://*.example.com:8443", "https://app.example.com:8443", true],
    ["https://*.example.com:08443", "https://app.example.com:8443", true],
    ["https://*.example.com:8443", "https://app.example.com", false],
  ];
  for (const [pattern, origin, allowed] of table) {
    test(`${JSON.stringify(pattern)} ${allowed ? "allows" : "refuses"} ${JSON.stringify(origin)}`, () => {
      assert.equal(matcher(pattern)(origin), allowed);
    });
  }

  test("exact origins and patterns mix in one list", () => {
    const allowed = matcher("https://app.example", "http://localhost:*");
    assert.equal(allowed("https://app.example"), true);
    assert.equal(allowed("http://localhost:5173"), true);
    assert.equal(allowed("https://other.example"), false);
  });

  test("a pattern that is not a whole origin with * as the port or leftmost label throws a TypeError", () => {
    const bad: [string, RegExp][] = [
      ["http://*", /is not an origin pattern/],
      ["https://*.com", /would allow every site under "\.com"/],
      ["https://*.localhost", /would allow every site under "\.localhost"/],
      ["http://*.0.0.1", /not part of an IP/],
      ["http://*.[::1]", /not part of an IP/],
      ["*://localhost:5173", /is not an origin pattern/],
      ["http*://localhost", /is not an origin pattern/],
      ["https://app.*.com", /is not an origin pattern/],
      ["https://*app.example.com", /is not an origin pattern/],
      ["https://**.example.com", /is not an origin pattern/],
      ["http://localhost:5*", /is not an origin pattern/],
      ["http://localhost:*/path", /is not an origin pattern/],
      ["http://localhost:*?q", /is not an origin pattern/],
      ["http://user@*.example.com", /is not an origin pattern/],
      ["localhost:*", /is not an origin pattern/],
      ["http://localhost:99999", /is not an origin/], // not a pattern: refused as before
      ["http://*.example.com:70000", /the port must be from 1 to 65535/],
      ["http://*.example.com:0", /the port must be from 1 to 65535/],
    ];
    for (const [pattern, message] of bad) {
      assert.throws(
        () => quietApp().websocket("/ws", { origins: [pattern] }, () => {}),
        (error) => {
          assert.ok(error instanceof TypeError, `${pattern}: ${error}`);
          assert.match(error.message, /^WebSocket route \/ws: /, pattern);
          assert.match(error.message, message, pattern);
          return true;
        },
      );
      assert.throws(
        () => cors({ origin: [pattern] }),
        (error) => error instanceof TypeError && error.message.startsWith("cors(): "),
        pattern,
      );
    }
    // The message says what a pattern may be.
    assert.throws(() => cors({ origin: "https://app.*.com" }), {
      name: "TypeError",
      message:
        'cors(): "https://app.*.com" is not an origin pattern: write a whole origin ' +
        '(scheme://host[:port], no path), with * only as the port ("http://localhost:*") or ' +
        'as the leftmost label of the host ("https://*.example.com")',
    });
    // "*" alone stays what it was: any origin (cors, WebSocket), never one entry among others.
    assert.throws(() => cors({ origin: ["*", "http://localhost:*"] }), /cannot be one origin/);
  });
});

describe("a WebSocket route's origins", () => {
  test("a pattern lets a dev server's page in from any port, a real ws client sending its Origin", async () => {
    const app = quietApp();
    app.websocket("/ws", { origins: ["http://localhost:*"] }, async (socket) => {
      await socket.send("hello");
    });
    await using client = await TestClient.start(app);
    assert.equal(await upgradeFrom(client, "/ws", "http://localhost:5173"), "open");
    assert.equal(await upgradeFrom(client, "/ws", "http://localhost:8080"), "open");
    assert.equal(await upgradeFrom(client, "/ws", "http://evil.example:5173"), "403");
    assert.equal(await upgradeFrom(client, "/ws", "https://localhost:5173"), "403");
  });

  test("a refused origin's log line names the option to set, with the route path", async () => {
    const { logger, lines } = capturedLogger("info");
    const app = new App({ logger });
    app.websocket("/rooms/:room", async () => {});
    app.websocket("/listed", { origins: ["https://app.example"] }, async () => {});
    app.websocket("/decides", { origins: () => false }, async () => {});
    await using client = await TestClient.start(app);
    const refusals = () => lines.filter((line: LogLine) => line.origin !== undefined);

    assert.equal(await upgradeFrom(client, "/rooms/lobby", "http://localhost:5173"), "403");
    await waitFor(() => refusals().length === 1, "the refusal's log line");
    const [line] = refusals();
    assert.equal(line.level, 30, "info: refusing other sites is the check working");
    assert.equal(line.route, "/rooms/:room");
    assert.equal(line.origin, "http://localhost:5173");
    assert.ok(line.reqId);
    assert.equal(
      line.msg,
      "Origin http://localhost:5173 may not open a WebSocket on /rooms/lobby: by default only " +
        "the page's own origin may connect; a list replaces that default, so to let it in keep " +
        `the app's own origin in it: set origins: ["${client.url}", "http://localhost:5173"] ` +
        'on app.websocket("/rooms/:room", ...) (a pattern such as "http://localhost:*" allows any port)',
    );

    assert.equal(await upgradeFrom(client, "/listed", "http://localhost:5173"), "403");
    await waitFor(() => refusals().length === 2, "the second refusal's log line");
    assert.match(
      refusals()[1].msg,
      /: it is not in the route's origins; to let it in, add "http:\/\/localhost:5173" to origins on app\.websocket\("\/listed", \.\.\.\)/,
    );

    assert.equal(await upgradeFrom(client, "/decides", "http://localhost:5173"), "403");
    await waitFor(() => refusals().length === 3, "the third refusal's log line");
    assert.match(refusals()[2].msg, /: the route's origins function refused it$/);

    // "null" (sandboxed frames, file: pages) is never offered as a setting to copy.
    assert.equal(await upgradeFrom(client, "/rooms/lobby", "null"), "403");
    await waitFor(() => refusals().length === 4, "the fourth refusal's log line");
    assert.doesNotMatch(refusals()[3].msg, /origins: \[/);
    assert.match(refusals()[3].msg, /it is not an origin to allow/);
  });
});

describe("cors({ origin }) takes the same patterns", () => {
  test("a pattern in the list is echoed for a matching Origin, and nothing is sent for another", async () => {
    const app = quietApp();
    app.use(cors({ origin: ["https://app.example", "http://localhost:*"], credentials: true }));
    app.get("/data", () => ({ ok: true }));
    await using client = await TestClient.start(app);
    const dev = await client.get("/data", { headers: { origin: "http://localhost:5173" } });
    assert.equal(dev.headers["access-control-allow-origin"], "http://localhost:5173");
    assert.equal(dev.headers["access-control-allow-credentials"], "true");
    const exactOne = await client.get("/data", { headers: { origin: "https://app.example" } });
    assert.equal(exactOne.headers["access-control-allow-origin"], "https://app.example");
    const other = await client.get("/data", { headers: { origin: "http://evil.example:5173" } });
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    const preflight = await client.request("OPTIONS", "/data", {
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], "http://localhost:3000");
  });
});
