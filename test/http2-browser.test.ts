// Chromium against an HTTP/2 app, the reason h2 is there: a page opens 20 EventSources to one
// origin. Over h2 all 20 are streams of one connection and all get live events; served over
// HTTPS/1.1 the browser's six-connection limit shows: six streams open, the other fourteen
// stay pending. The server's side proves the protocol: the HTTP version each SSE request
// came in with and how many connections carried them (1 vs 6). A WebSocket from the h2 page
// runs on a stream of that same connection (RFC 8441, which sluice offers by default), and
// falls back to an HTTP/1.1 connection of its own when the app does not offer it.
import assert from "node:assert/strict";
import type { Http2ServerRequest } from "node:http2";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import type * as Client from "../src/client/index.js";
import { type App, HttpResponse, type ListenOptions, type SluiceRequest } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { launchChromium } from "./support/chromium.js";
import { testCertificate } from "./support/test-certificate.js";
import { sleep, waitFor } from "./support/wait.js";

// The page's globals (the project's tsconfig has Node's types, not the DOM's).
declare const window: {
  received: number[];
  sources: { readyState: number }[];
  sluice: typeof Client;
  rt: Client.Realtime;
  got: unknown[];
};
declare const EventSource: new (
  url: string,
) => {
  readyState: number;
  onmessage: () => void;
};
declare const WebSocket: new (
  url: string,
) => {
  onopen: () => void;
  onmessage: (event: { data: string }) => void;
  send(data: string): void;
  onerror: () => void;
};
declare const location: { host: string; href: string };

const SOURCES = 20;
/** Chromium's HTTP/1.1 connections per host (and per profile): the limit the test shows. */
const HTTP1_LIMIT = 6;

/** What the server saw of one SSE stream or WebSocket: its HTTP version and its connection. */
interface Arrival {
  version: string;
  connection: object;
}

/** The connection a request came on: its h2 session, or its TCP (TLS) socket over HTTP/1.1. */
function connectionOf(req: SluiceRequest): object {
  const raw = req.raw as SluiceRequest["raw"] | Http2ServerRequest;
  return "stream" in raw ? (raw.stream.session ?? raw.stream) : raw.socket;
}

interface Served {
  app: App;
  url: string;
  streams: Arrival[];
  sockets: Arrival[];
  close(): Promise<void>;
}

/** An app with the page, an SSE route following the topic "live" and an echo WebSocket. */
async function serve(options: ListenOptions): Promise<Served> {
  const app = quietApp();
  const streams: Arrival[] = [];
  const sockets: Arrival[] = [];
  app.get("/", () =>
    HttpResponse.text("<!doctype html><title>h2</title>", {
      headers: { "content-type": "text/html; charset=utf-8" },
    }),
  );
  app.get("/favicon.ico", () => HttpResponse.empty(204));
  app.sse("/events", (req) => {
    streams.push({ version: req.raw.httpVersion, connection: connectionOf(req) });
    return app.subscribe("live", { signal: req.signal });
  });
  app.websocket("/ws", async (socket, req) => {
    sockets.push({ version: req.raw.httpVersion, connection: connectionOf(req) });
    for await (const message of socket) await socket.send(message);
  });
  app.get("/client.js", async () =>
    HttpResponse.text(await clientBundle(), {
      headers: { "content-type": "text/javascript; charset=utf-8" },
    }),
  );
  app.realtime("/rt", {
    subscribe: (_topic, ctx) => {
      sockets.push({ version: ctx.request.raw.httpVersion, connection: connectionOf(ctx.request) });
      return true;
    },
    publish: () => true,
  });
  const server = await app.listen({ port: 0, host: "127.0.0.1", ...options });
  return { app, url: server.url, streams, sockets, close: () => server.close() };
}

let bundled: Promise<string> | undefined;

/** sluice/client bundled for the page, as an app would serve it. */
function clientBundle(): Promise<string> {
  bundled ??= build({
    entryPoints: [resolve(import.meta.dirname, "../src/client/index.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  }).then((result) => result.outputFiles[0].text);
  return bundled;
}

/** Opens the 20 EventSources in the page; each counts the events it got. */
function openEventSources(page: Page): Promise<void> {
  return page.evaluate((count) => {
    window.received = Array.from({ length: count }, () => 0);
    window.sources = Array.from({ length: count }, (_, i) => {
      const source = new EventSource("/events");
      source.onmessage = () => {
        window.received[i]++;
      };
      return source;
    });
  }, SOURCES);
}

/** How many EventSources got at least one event, and how many are still connecting (0). */
function pageCounts(page: Page): Promise<{ withEvents: number; connecting: number }> {
  return page.evaluate(() => ({
    withEvents: window.received.filter((n) => n > 0).length,
    connecting: window.sources.filter((source) => source.readyState === 0).length,
  }));
}

/**
 * Publishes to "live" every 50 ms until `done()`: a subscription that attached just after a
 * publish gets the next one, so the test does not race the subscribe.
 */
async function publishUntil(app: App, done: () => Promise<boolean>, what: string): Promise<void> {
  const started = performance.now();
  let n = 0;
  while (!(await done())) {
    if (performance.now() - started > 8000) throw new Error(`Timed out after 8000 ms: ${what}`);
    await app.publish("live", { n: n++ });
    await sleep(50);
  }
}

function distinct(arrivals: Arrival[]): number {
  return new Set(arrivals.map((arrival) => arrival.connection)).size;
}

describe("HTTP/2 in Chromium", () => {
  let browser: Browser;
  const servers: Served[] = [];

  before(async () => {
    browser = await launchChromium(["--ignore-certificate-errors"]);
  });

  after(async () => {
    await browser?.close();
    await Promise.all(servers.map((served) => served.close()));
  });

  async function pageOn(options: ListenOptions): Promise<{ served: Served; page: Page }> {
    const { key, cert } = await testCertificate();
    const served = await serve({ ...options, tls: { key, cert } });
    servers.push(served);
    const page = await browser.newPage();
    page.setDefaultTimeout(8000);
    await page.goto(served.url);
    return { served, page };
  }

  test("over h2, 20 EventSources of one page all get live events, on one connection", async () => {
    const { served, page } = await pageOn({ http2: true });
    await openEventSources(page);
    await waitFor(() => served.streams.length >= SOURCES, "20 SSE streams at the server", 8000);
    await publishUntil(
      served.app,
      async () => (await pageCounts(page)).withEvents >= SOURCES,
      "all 20 EventSources to get a live event",
    );
    assert.deepEqual(await pageCounts(page), { withEvents: SOURCES, connecting: 0 });
    assert.deepEqual(
      served.streams.map((stream) => stream.version),
      Array(SOURCES).fill("2.0"),
    );
    assert.equal(distinct(served.streams), 1, "the 20 streams share one h2 connection");
    await page.close();
  });

  test("over HTTPS/1.1, the same page gets six streams: the other fourteen stay pending", async () => {
    const { served, page } = await pageOn({});
    await openEventSources(page);
    await waitFor(() => served.streams.length >= HTTP1_LIMIT, "6 SSE streams at the server", 8000);
    await publishUntil(
      served.app,
      async () => (await pageCounts(page)).withEvents >= HTTP1_LIMIT,
      "6 EventSources to get a live event",
    );
    // Events keep flowing for a second: no seventh stream gets a connection meanwhile.
    for (let i = 0; i < 10; i++) {
      await served.app.publish("live", { more: i });
      await sleep(100);
    }
    assert.deepEqual(await pageCounts(page), {
      withEvents: HTTP1_LIMIT,
      connecting: SOURCES - HTTP1_LIMIT,
    });
    assert.equal(served.streams.length, HTTP1_LIMIT, "no seventh stream reached the server");
    assert.deepEqual(
      served.streams.map((stream) => stream.version),
      Array(HTTP1_LIMIT).fill("1.1"),
    );
    assert.equal(distinct(served.streams), HTTP1_LIMIT, "one connection per stream");
    await page.close();
  });

  /** A WebSocket the page opens to /ws: resolves with its first echo. */
  function echoFromPage(page: Page): Promise<string> {
    return page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const socket = new WebSocket(`wss://${location.host}/ws`);
          socket.onopen = () => socket.send("over which protocol?");
          socket.onmessage = (event) => resolve(event.data);
          socket.onerror = () => reject(new Error("the WebSocket failed"));
          setTimeout(() => reject(new Error("no echo within 5 s")), 5000);
        }),
    );
  }

  test("a WebSocket from the h2 page runs on a stream of the page's h2 connection (RFC 8441)", async () => {
    const { served, page } = await pageOn({ http2: true });
    await openEventSources(page); // a stream of the connection to compare with
    await waitFor(() => served.streams.length >= 1, "an SSE stream at the server", 8000);
    assert.equal(await echoFromPage(page), "over which protocol?");
    assert.deepEqual(
      served.sockets.map((socket) => socket.version),
      ["2.0"],
    );
    assert.equal(
      served.sockets[0].connection,
      served.streams[0].connection,
      "the WebSocket shares the page's h2 connection",
    );
    await page.close();
  });

  test("sluice/client's connect() in the h2 page: app.realtime over a stream of the page's connection", async () => {
    const { served, page } = await pageOn({ http2: true });
    await page.evaluate(async () => {
      const url = new URL("/client.js", location.href).href;
      window.sluice = await import(url);
    });
    await page.evaluate(() => {
      window.got = [];
      window.rt = window.sluice.connect(`wss://${location.host}/rt`);
      window.rt.subscribe("live", {}, (message) => window.got.push(message.data));
    });
    await waitFor(() => served.sockets.length === 1, "the page's subscribe at the server", 8000);
    await publishUntil(
      served.app,
      async () => (await page.evaluate(() => window.got.length)) > 0,
      "a live message in the page",
    );
    const id = await page.evaluate(() => window.rt.publish("live", { from: "page" }));
    assert.ok(typeof id === "string" && id.length > 0, `the page's publish got an id: ${id}`);
    assert.deepEqual(
      served.sockets.map((socket) => socket.version),
      ["2.0"],
    );
    await page.evaluate(() => window.rt.close());
    await page.close();
  });

  test("with http2WebSockets: false, the h2 page's WebSocket falls back to HTTP/1.1", async () => {
    const { served, page } = await pageOn({ http2: true, http2WebSockets: false });
    assert.equal(await echoFromPage(page), "over which protocol?");
    assert.deepEqual(
      served.sockets.map((socket) => socket.version),
      ["1.1"],
    );
    await page.close();
  });
});
