// sluice/client in Chromium: the module bundled by esbuild and loaded in a page, connect() to
// the scripted sluice.v1 peer and fetchEvents() on a sluice app.sse() route, through a
// reconnect; the page must see every message once, in order, and no error.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import type * as Client from "../src/client/index.js";
import { type App, HttpResponse, SseEvent } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { RealtimeScriptServer } from "./support/realtime-script-server.js";

// The page's globals (the project's tsconfig has Node's types, not the DOM's).
declare const window: {
  sluice: typeof Client;
  rt: Client.Realtime;
  got: unknown[];
  states: string[];
  events: string[];
};

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ROOT = resolve(import.meta.dirname, "..");

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [resolve(ROOT, "src/client/index.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  });
  return result.outputFiles[0].text;
}

describe("sluice/client in Chromium", () => {
  let app: App;
  let url: string;
  let peer: RealtimeScriptServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH`,
      );
    const script = await bundle();
    app = quietApp();
    app.get("/", () =>
      HttpResponse.text(
        `<!doctype html><script type="module">import * as sluice from "/client.js"; window.sluice = sluice;</script>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      ),
    );
    app.get("/favicon.ico", () => HttpResponse.empty(204));
    app.get("/client.js", () =>
      HttpResponse.text(script, { headers: { "content-type": "text/javascript; charset=utf-8" } }),
    );
    // Two events per connection, then the stream ends: the client must resume.
    app.sse("/events", async function* (req) {
      const from = Number(req.lastEventId ?? 0);
      for (let n = from + 1; n <= from + 2; n++)
        yield new SseEvent({ id: String(n), data: `e${n}`, retry: 10 });
    });
    url = (await app.listen({ port: 0, host: "127.0.0.1" })).url;
    peer = await RealtimeScriptServer.start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage();
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      // Chromium logs each failed WebSocket attempt itself: refused while the peer is down, or
      // closed before the handshake when the peer stops mid-attempt (once in CI under load).
      // That is the browser's network log, not an error of the page; the test's assertions on
      // what arrived catch a client that does not recover.
      const attemptFailed = /^WebSocket connection to .* failed/;
      if (message.type() === "error" && !attemptFailed.test(message.text()))
        errors.push(`console: ${message.text()}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => window.sluice !== undefined);
  });

  // One test's page error must not fail the next one too.
  beforeEach(() => {
    errors.length = 0;
  });

  after(async () => {
    await browser?.close();
    await peer?.stop();
    await app?.close();
  });

  test("connect(): messages flow, a publish resolves its id, a reconnect resumes without loss or repeat", async () => {
    await page.evaluate((wsUrl) => {
      window.got = [];
      window.states = [];
      window.rt = window.sluice.connect(wsUrl, { reconnect: { initialDelay: 20, maxDelay: 100 } });
      window.rt.on("state", (state) => window.states.push(state));
      window.rt.subscribe("room", {}, (message) => window.got.push(message.data));
    }, peer.url);
    await page.waitForFunction(() => window.rt.state === "open");
    await waitForSubscribe(1);
    peer.publish("room", "m1");
    peer.publish("room", "m2");
    await page.waitForFunction(() => window.got.length === 2);
    await peer.stop();
    peer.publish("room", "m3");
    peer.publish("room", "m4");
    await page.waitForFunction(() => window.rt.state === "reconnecting");
    await peer.listen();
    await page.waitForFunction(() => window.got.length === 4, undefined, { timeout: 5000 });
    const id = await page.evaluate(() => window.rt.publish("room", "from the page"));
    assert.equal(id, "room-5");
    await page.waitForFunction(() => window.got.length === 5);
    assert.deepEqual(await page.evaluate(() => window.got), [
      "m1",
      "m2",
      "m3",
      "m4",
      "from the page",
    ]);
    const sinces = peer.framesOf("subscribe").map((frame) => (frame as { since?: string }).since);
    assert.deepEqual(sinces, [undefined, "room-2"]);
    assert.deepEqual(await page.evaluate(() => window.states), ["open", "reconnecting", "open"]);
    await page.evaluate(() => window.rt.close());
    assert.deepEqual(errors, []);
  });

  test("fetchEvents(): events flow and the stream resumes with Last-Event-ID", async () => {
    const events = await page.evaluate(async () => {
      const taken: string[] = [];
      for await (const event of window.sluice.fetchEvents("/events")) {
        taken.push(`${event.id}:${event.data}`);
        if (taken.length === 5) break;
      }
      return taken;
    });
    assert.deepEqual(events, ["1:e1", "2:e2", "3:e3", "4:e4", "5:e5"]);
    assert.deepEqual(errors, []);
  });

  async function waitForSubscribe(count: number): Promise<void> {
    const started = Date.now();
    while (peer.framesOf("subscribe").length < count) {
      if (Date.now() - started > 3000) throw new Error(`no subscribe frame ${count} from the page`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
});
