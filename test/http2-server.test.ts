// What is particular to serving HTTP/2: flow control pausing one stream's producer while the
// others on its connection flow, GOAWAY on close, HTTP/1.1 (and its WebSockets, limits and
// parser errors) on the same TLS port, what an HTTP/1.1 client gets on an h2c port, the
// connection caps counting streams, and the checks on listen()'s options.
import assert from "node:assert/strict";
import { type ClientHttp2Stream, constants } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as netConnect } from "node:net";
import { describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import WebSocket from "ws";
import { App, SseEvent, StreamingResponse } from "../src/index.js";
import { echo, quietApp } from "./support/apps.js";
import { forEachProtocol, serveOn } from "./support/protocols.js";
import { openssl, testCertificate } from "./support/test-certificate.js";
import { aborted, sleep, waitFor, within } from "./support/wait.js";

const CHUNK = "x".repeat(16 * 1024);

/** An app whose `/bulk/:name?chunks=N` streams N chunks of 16 KiB, counting what it produced. */
function bulkApp(): { app: App; produced: Map<string, number> } {
  const app = quietApp();
  const produced = new Map<string, number>();
  app.get("/bulk/:name", (req) => {
    const { name } = req.params;
    const chunks = Number(req.query.get("chunks") ?? 100_000);
    return new StreamingResponse(
      (function* () {
        for (let index = 0; index < chunks; index++) {
          produced.set(name, (produced.get(name) ?? 0) + 1);
          yield CHUNK;
        }
      })(),
    );
  });
  return { app, produced };
}

/** Resolves once `read()` has given the same value for `quietMs`: the producer has stopped. */
async function settles(read: () => number, what: string, quietMs = 300): Promise<number> {
  const deadline = performance.now() + 5000;
  let last = read();
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(25);
    const now = read();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return now;
  }
  throw new Error(`${what} never settled (last ${last})`);
}

function bodyLength(stream: ClientHttp2Stream): Promise<number> {
  return new Promise((resolve, reject) => {
    let length = 0;
    stream.on("data", (chunk: Buffer) => {
      length += chunk.length;
    });
    stream.on("end", () => resolve(length));
    stream.on("error", reject);
  });
}

forEachProtocol(["h2", "h2c"], (protocol) => {
  // First in the file: Node gives each of these warnings once per process.
  test("errors go out without the warnings h2 gives for HTTP/1.1-only headers and reason phrases", async () => {
    const app = quietApp({ bodyLimit: 10 });
    app.post("/", async (req) => req.text());
    const client = await serveOn(app, protocol);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      assert.equal((await client.request("/nowhere")).status, 404);
      assert.equal(
        (await client.request("/", { method: "POST", body: "x".repeat(100) })).status,
        413,
      );
      await sleep(20); // warnings are emitted on the next tick
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  test("a stream whose client stops reading pauses its producer; another stream on the connection flows", async () => {
    const { app, produced } = bulkApp();
    const client = await serveOn(app, protocol);
    const session = client.session;
    assert.ok(session);
    const stalled = session.request({ ":path": "/bulk/stalled" });
    stalled.pause();
    const paused = await settles(
      () => produced.get("stalled") ?? 0,
      "the stalled stream's producer",
    );
    // The stream's flow-control window, Node's buffers on both sides: well under 2 MiB.
    assert.ok(paused * CHUNK.length < 2 * 1024 * 1024, `${paused} chunks produced while paused`);
    // 8 MiB on another stream of the same connection, while the first still reads nothing.
    const flowing = session.request({ ":path": "/bulk/flowing?chunks=512" });
    assert.equal(
      await within(bodyLength(flowing), "the other stream's 8 MiB", 10_000),
      512 * CHUNK.length,
    );
    assert.equal(produced.get("stalled"), paused, "the stalled producer stayed paused meanwhile");
    stalled.resume();
    await waitFor(() => (produced.get("stalled") ?? 0) > paused + 64, "the producer resumed", 5000);
    stalled.close(constants.NGHTTP2_CANCEL);
  });

  test("close() sends GOAWAY: the stream in flight finishes, a new one on the session is refused", async () => {
    const app = quietApp();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.get("/slow", async () => {
      await released;
      return "done";
    });
    const client = await serveOn(app, protocol);
    const session = client.session;
    assert.ok(session);
    const inFlight = client.request("/slow");
    await sleep(50);
    const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
    const closing = app.close({ timeout: 5000 });
    assert.equal(await within(goaway, "GOAWAY"), constants.NGHTTP2_NO_ERROR);
    await assert.rejects(client.request("/slow"), "a stream opened after GOAWAY is refused");
    release();
    const answer = await within(inFlight, "the in-flight answer");
    assert.equal(answer.status, 200);
    assert.equal(answer.text(), "done");
    await within(closing, "the close");
  });

  test("header limits: one field past maxHeadersCount gets 431, far past it or past maxHeaderSize the stream is reset", async () => {
    const app = quietApp();
    app.get("/", () => "ok");
    const client = await serveOn(app, protocol);
    const fields = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, index) => [`x-field-${index}`, "v"]));
    assert.equal((await client.request("/", { headers: fields(100) })).status, 200);
    assert.equal((await client.request("/", { headers: fields(101) })).status, 431);
    await assert.rejects(client.request("/", { headers: fields(200) }), /ENHANCE_YOUR_CALM/);
    await assert.rejects(
      client.request("/", { headers: { "x-big": "a".repeat(20 * 1024) } }),
      /ENHANCE_YOUR_CALM/,
    );
    assert.equal((await client.request("/")).status, 200, "the connection still serves");
  });

  test("maxConnectionsPerIp counts SSE streams, not connections: the third on one session gets 503", async () => {
    const app = quietApp({ maxConnectionsPerIp: 2 });
    app.sse("/events", async function* (req) {
      yield new SseEvent({ data: "open" });
      await aborted(req.signal);
    });
    const client = await serveOn(app, protocol);
    const open = await Promise.all([client.open("/events"), client.open("/events")]);
    for (const stream of open) assert.equal(stream.status, 200);
    const third = await client.request("/events");
    assert.equal(third.status, 503);
    assert.equal(third.headers["retry-after"], "5");
    open[0].cancel();
    await open[0].ended;
    await waitFor(() => app.connections.sse === 1, "the cancelled stream's place given back");
    const again = await client.open("/events");
    assert.equal(again.status, 200);
  });
});

describe("HTTP/1.1 on an HTTP/2 port (TLS, allowHTTP1)", { skip: openssl.skip }, () => {
  async function h2App(app: App): Promise<{ port: number; ca: Buffer }> {
    const { key, cert } = await testCertificate();
    const { port } = await app.listen({
      port: 0,
      host: "127.0.0.1",
      http2: true,
      tls: { key, cert },
    });
    return { port, ca: cert };
  }

  test("a client without h2 in ALPN is served HTTP/1.1, and its WebSockets work (wss://)", async (t) => {
    const app = quietApp();
    t.after(() => app.close());
    app.get("/version", (req) => req.raw.httpVersion);
    app.websocket("/ws", echo);
    const { port, ca } = await h2App(app);
    const version = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: "127.0.0.1", port, path: "/version", ca }, (response) => {
        response.setEncoding("utf8");
        let body = "";
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve(body));
      })
        .on("error", reject)
        .end();
    });
    assert.equal(version, "1.1");
    const socket = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca });
    await within(new Promise((resolve) => socket.once("open", resolve)), "the wss:// handshake");
    socket.send("over TLS");
    const [message] = await within(
      new Promise<[Buffer]>((resolve) => socket.once("message", (data: Buffer) => resolve([data]))),
      "the echo",
    );
    assert.equal(message.toString(), "over TLS");
    socket.close();
  });

  test("a malformed HTTP/1.1 head gets 400, and a slow one 408 after headersTimeout", async (t) => {
    const app = quietApp({ headersTimeout: 300 });
    t.after(() => app.close());
    app.get("/", () => "ok");
    const { port, ca } = await h2App(app);
    const exchange = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port, ca, ALPNProtocols: ["http/1.1"] });
        let received = "";
        socket.setEncoding("utf8");
        socket.on("secureConnect", () => socket.write(head));
        socket.on("data", (chunk: string) => {
          received += chunk;
        });
        socket.on("close", () => resolve(received));
        socket.on("error", reject);
      });
    const malformed = await within(
      exchange("GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n"),
      "400",
    );
    assert.match(malformed, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const slow = await within(exchange("GET / HTTP/1.1\r\nHost: x\r\n"), "408", 3000);
    assert.match(slow, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  test("HTTPS/1.1 alone (tls without http2) serves wss:// too", async (t) => {
    const app = quietApp();
    t.after(() => app.close());
    app.websocket("/ws", echo);
    const { key, cert } = await testCertificate();
    const { url } = await app.listen({ port: 0, host: "127.0.0.1", tls: { key, cert } });
    assert.match(url, /^https:\/\//);
    const socket = new WebSocket(`${url.replace("https", "wss")}/ws`, { ca: cert });
    await within(new Promise((resolve) => socket.once("open", resolve)), "the wss:// handshake");
    socket.close();
  });
});

describe('an h2c port (http2: "cleartext")', () => {
  test("an HTTP/1.1 client gets Node's h2 SETTINGS and GOAWAY, not an HTTP/1.1 answer; h2 clients go on", async (t) => {
    const { app } = bulkApp();
    app.get("/", () => "ok");
    const client = await serveOn(app, "h2c");
    t.after(() => client.close());
    const { port } = new URL(client.url);
    const received = await within(
      new Promise<Buffer>((resolve) => {
        const socket = netConnect(Number(port), "127.0.0.1", () =>
          socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        );
        const chunks: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => chunks.push(chunk));
        socket.on("close", () => resolve(Buffer.concat(chunks)));
        socket.on("error", () => {});
      }),
      "the connection closed by the server",
    );
    assert.ok(!received.toString("latin1").startsWith("HTTP/1.1"), "no HTTP/1.1 answer");
    // Frame type 0x7 (GOAWAY) follows the server's SETTINGS (9-byte frame header each).
    assert.ok(received.includes(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00])), "a GOAWAY");
    assert.equal((await client.request("/")).text(), "ok");
  });
});

describe("listen() options", () => {
  test("http2: true without tls is a TypeError that says what to pass", async () => {
    await assert.rejects(quietApp().listen({ port: 0, http2: true }), {
      name: "TypeError",
      message: /pass tls: \{ key, cert \}.*or use http2: "cleartext"/,
    });
  });

  test("a bad tls option names its problem", async () => {
    const app = quietApp();
    await assert.rejects(app.listen({ port: 0, tls: {} as never }), /tls\.key is missing/);
    await assert.rejects(
      app.listen({ port: 0, tls: { key: "not a key", cert: "not a cert" } }),
      /tls\.key could not be loaded as a PEM private key/,
    );
    await assert.rejects(
      app.listen({ port: 0, http2: "cleartext", tls: { key: "k", cert: "c" } }),
      /use http2: true for HTTP\/2 over TLS/,
    );
    await assert.rejects(app.listen({ port: 0, http2: "yes" as never }), /http2 must be true/);
  });

  test("a certificate that is not the key's is refused, naming both", {
    skip: openssl.skip,
  }, async () => {
    const { cert } = await testCertificate();
    const other = await import("node:crypto").then(({ generateKeyPairSync }) =>
      generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
        format: "pem",
        type: "pkcs8",
      }),
    );
    await assert.rejects(quietApp().listen({ port: 0, tls: { key: other, cert } }), {
      name: "TypeError",
      message: /tls\.key and tls\.cert do not go together/,
    });
  });

  test("the types: http2: true gives an Http2SecureServer, no option node:http's Server", async () => {
    const app = new App({ logger: false });
    const listening = await app.listen({ port: 0 });
    // node:http's Server: HTTP/1.1's timeouts are there to read.
    assert.equal(typeof listening.server.headersTimeout, "number");
    await app.close();
    if (false as boolean) {
      const h2 = await app.listen({ http2: true, tls: { key: "", cert: "" } });
      // @ts-expect-error an Http2SecureServer has no headersTimeout
      void h2.server.headersTimeout;
      h2.server.on("session", () => {});
    }
  });
});
