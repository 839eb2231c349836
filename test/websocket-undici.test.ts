// WebSockets as an outside client sees them: undici's WebSocket (the WHATWG API, as in a
// browser) against app.websocket() routes over 127.0.0.1. None of this goes through `ws` on
// the client side, so what sluice's server does on the wire is checked by a second,
// independent implementation.
//
// Facts about undici 7's WebSocket the assertions rely on (read in node_modules/undici):
// - it always offers `permessage-deflate; client_max_window_bits` and inflates what the server
//   compresses, but never compresses what it sends;
// - a handshake it refuses or fails (a non-101 answer, or a 101 without Sec-WebSocket-Protocol
//   when it offered protocols) fires "error" then "close" with code 1006, never "open";
// - a close frame from the server is echoed, and "close" carries the server's code and reason
//   once the TCP connection is gone; no close frame at all gives 1006.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { describe, test } from "node:test";
import { type CloseEvent, type MessageEvent, WebSocket } from "undici";
import { jsonEcho } from "../examples/websocket-chat.js";
import { App, type CloseInfo, HttpError } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { echo, quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { sleep, waitFor, within as withinMs } from "./support/wait.js";

const STEP_MS = 2000;

/** The promise's value, or a rejection that names what was awaited after `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  return withinMs(promise, `waiting for ${what}`, ms);
}

type Received = string | ArrayBuffer;

/**
 * An undici WebSocket with everything it does recorded from the start (so no event is missed
 * between two awaits): messages in order, "open"/"error"/"close" on a timeline.
 */
class Peer implements AsyncDisposable {
  readonly ws: WebSocket;
  readonly timeline: string[] = [];
  readonly messages: Received[] = [];
  /** Resolves true on "open", false if the connection closed without opening. */
  readonly opened: Promise<boolean>;
  readonly closed: Promise<CloseEvent>;
  private taken = 0;
  private wake: (() => void) | undefined;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.binaryType = "arraybuffer";
    this.ws.addEventListener("message", (event: MessageEvent) => {
      const data = event.data as Received;
      this.messages.push(data);
      this.timeline.push(typeof data === "string" ? `message:${data.slice(0, 40)}` : "binary");
      this.wake?.();
    });
    this.ws.addEventListener("error", () => this.timeline.push("error"));
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (event: CloseEvent) => {
        this.timeline.push(`close(${event.code})`);
        this.wake?.();
        resolve(event);
      });
    });
    this.opened = new Promise((resolve) => {
      this.ws.addEventListener("open", () => {
        this.timeline.push("open");
        resolve(true);
      });
      this.closed.then(() => resolve(false));
    });
  }

  /** Opens a connection and waits for "open"; fails with the timeline if it closed instead. */
  static async open(url: string, protocols?: string[]): Promise<Peer> {
    const peer = new Peer(url, protocols);
    const opened = await within(peer.opened, `"open" on ${url}`).catch(() => false);
    if (!opened) {
      peer.ws.close();
      throw new Error(`${url} did not open: ${peer.timeline.join(", ") || "no event in time"}`);
    }
    return peer;
  }

  /** The next message not yet taken, waiting for it (bounded). */
  async next(what = "a message"): Promise<Received> {
    const deadline = performance.now() + STEP_MS;
    while (this.taken >= this.messages.length) {
      if (this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`closed while waiting for ${what}: ${this.timeline.join(", ")}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`Timed out waiting for ${what}: ${this.timeline.join(", ")}`);
      }
      await within(
        new Promise<void>((resolve) => {
          this.wake = resolve;
        }),
        what,
        left,
      ).catch((error) => {
        throw new Error(`${(error as Error).message}; timeline: ${this.timeline.join(", ")}`);
      });
    }
    return this.messages[this.taken++]!;
  }

  /** The next message, which must be text, parsed as JSON. */
  async nextJson(what = "a JSON message"): Promise<unknown> {
    const message = await this.next(what);
    assert.equal(typeof message, "string", `${what} arrived as a binary frame`);
    return JSON.parse(message as string);
  }

  /** The close event (bounded). */
  closeEvent(what = "the close event"): Promise<CloseEvent> {
    return within(this.closed, what).catch((error) => {
      throw new Error(`${(error as Error).message}; timeline: ${this.timeline.join(", ")}`);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close();
    }
    await this.closeEvent("the close event while disposing");
  }
}

function wsUrl(client: TestClient, path: string): string {
  return `${client.url.replace(/^http/, "ws")}${path}`;
}

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A handshake request sent by node:http: what the server answers when it refuses. */
function upgradeRequest(
  client: TestClient,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    const request = httpRequest(`${client.url}${path}`, {
      agent: false,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        "sec-websocket-version": "13",
        ...headers,
      },
    });
    request.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: "" });
    });
    request.on("response", (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end();
  });
  return within(answer, `the answer to an upgrade of ${path}`);
}

/** An app's server-side TCP sockets, to count the bytes it wrote. */
function serverSockets(app: App): Socket[] {
  const sockets: Socket[] = [];
  app.server!.on("connection", (socket: Socket) => sockets.push(socket));
  return sockets;
}

function bytesOf(data: Received): Uint8Array {
  assert.ok(data instanceof ArrayBuffer, `expected an ArrayBuffer, got ${typeof data}`);
  return new Uint8Array(data);
}

describe("WebSocket with undici: messages", () => {
  test("text comes back as a string, binary as identical bytes; the server sees string and Buffer", async () => {
    const seen: string[] = [];
    const app = quietApp();
    app.websocket("/echo", async (socket) => {
      for await (const message of socket) {
        seen.push(Buffer.isBuffer(message) ? `Buffer(${message.length})` : typeof message);
        await socket.send(message);
      }
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/echo"));

    peer.ws.send("héllo, wörld 🎉");
    assert.equal(await peer.next("the text echo"), "héllo, wörld 🎉");

    const bytes = new Uint8Array(256).map((_, i) => i);
    peer.ws.send(bytes);
    assert.deepEqual(bytesOf(await peer.next("the Uint8Array echo")), bytes);

    const buffer = new Uint8Array([0, 0xff, 0x80, 0x7f, 0x0a, 0x0d]).buffer;
    peer.ws.send(buffer);
    assert.deepEqual(
      bytesOf(await peer.next("the ArrayBuffer echo")),
      new Uint8Array([0, 0xff, 0x80, 0x7f, 0x0a, 0x0d]),
    );

    // A binary frame whose bytes are valid UTF-8 text stays binary; an empty text stays text.
    peer.ws.send(new TextEncoder().encode("not text"));
    assert.equal(new TextDecoder().decode(bytesOf(await peer.next("binary text"))), "not text");
    peer.ws.send("");
    assert.equal(await peer.next("the empty text"), "");

    assert.deepEqual(seen, ["string", "Buffer(256)", "Buffer(6)", "Buffer(8)", "string"]);
  });

  test("socket.sendJson and send(object) arrive as JSON text; receiveJson parses what undici sent", async () => {
    const app = quietApp();
    let received: unknown;
    app.websocket("/json", async (socket) => {
      await socket.sendJson({ n: 1, list: [1, "two", null], nested: { ok: true } });
      await socket.sendJson("a string becomes a JSON string");
      await socket.send({ via: "send" });
      received = await socket.receiveJson();
      await socket.sendJson({ got: received });
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/json"));
    assert.deepEqual(await peer.nextJson(), { n: 1, list: [1, "two", null], nested: { ok: true } });
    assert.equal(await peer.next(), '"a string becomes a JSON string"');
    assert.deepEqual(await peer.nextJson(), { via: "send" });
    peer.ws.send(JSON.stringify({ from: "undici", ü: "✓" }));
    assert.deepEqual(await peer.nextJson(), { got: { from: "undici", ü: "✓" } });
    assert.equal((await peer.closeEvent()).code, 1000, "the handler returned");
  });

  test("the seed example: welcome with socket.id, pong, Invalid JSON, echo", async () => {
    const ids: string[] = [];
    const app = quietApp();
    app.websocket("/ws", (socket) => {
      ids.push(socket.id);
      return jsonEcho(socket);
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/ws"));

    const welcome = (await peer.nextJson("the welcome")) as { type: string; id: string };
    assert.equal(welcome.type, "welcome");
    assert.equal(typeof welcome.id, "string");
    assert.ok(welcome.id.length > 0);
    assert.deepEqual(ids, [welcome.id]);

    peer.ws.send(JSON.stringify({ type: "ping" }));
    assert.deepEqual(await peer.nextJson("the pong"), { type: "pong" });
    peer.ws.send("{not json");
    assert.deepEqual(await peer.nextJson("the JSON error"), {
      type: "error",
      message: "Invalid JSON",
    });
    peer.ws.send('{"type":"chat","text":"hi"}');
    assert.equal(await peer.next("the echo"), '{"type":"chat","text":"hi"}');

    // A second connection has its own id.
    await using other = await Peer.open(wsUrl(client, "/ws"));
    const second = (await other.nextJson("the second welcome")) as { id: string };
    assert.notEqual(second.id, welcome.id);
    assert.deepEqual(ids, [welcome.id, second.id]);
  });
});

describe("WebSocket with undici: subprotocols", () => {
  test("the first protocol the client offers that the route speaks is chosen; both ends agree", async () => {
    const serverProtocols: string[] = [];
    const app = quietApp();
    app.websocket("/chat", { protocols: ["chat.v2", "chat.v1"] }, async (socket) => {
      serverProtocols.push(socket.protocol);
      await socket.sendJson({ protocol: socket.protocol });
      await echo(socket);
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });

    await using both = await Peer.open(wsUrl(client, "/chat"), ["chat.v1", "chat.v2"]);
    assert.equal(both.ws.protocol, "chat.v1");
    assert.deepEqual(await both.nextJson(), { protocol: "chat.v1" });

    await using onlyV2 = await Peer.open(wsUrl(client, "/chat"), ["chat.v3", "chat.v2"]);
    assert.equal(onlyV2.ws.protocol, "chat.v2");
    assert.deepEqual(await onlyV2.nextJson(), { protocol: "chat.v2" });

    await using none = await Peer.open(wsUrl(client, "/chat"));
    assert.equal(none.ws.protocol, "");
    assert.deepEqual(await none.nextJson(), { protocol: "" });
    none.ws.send("still works");
    assert.equal(await none.next(), "still works");

    assert.deepEqual(serverProtocols, ["chat.v1", "chat.v2", ""]);
  });

  test("only unsupported protocols, requireProtocol off: sluice upgrades without one, undici fails the connection, the heartbeat frees the server side", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    const handlerSaw: CloseInfo[] = [];
    let handlerRuns = 0;
    let finallyRan = 0;
    app.websocket(
      "/chat",
      { protocols: ["chat.v2", "chat.v1"], heartbeat: 100 },
      async (socket) => {
        handlerRuns++;
        try {
          handlerSaw.push(await socket.closed);
        } finally {
          finallyRan++;
        }
      },
    );
    await using client = await TestClient.start(app, { closeTimeout: 2000 });

    // What sluice answers: 101, and no Sec-WebSocket-Protocol.
    const answer = await upgradeRequest(client, "/chat", { "sec-websocket-protocol": "chat.v9" });
    assert.equal(answer.status, 101);
    assert.equal(answer.headers["sec-websocket-protocol"], undefined);
    assert.ok(answer.headers["x-request-id"], "the 101 carries the request id");
    await waitFor(() => finallyRan === 1, "the first handler's finally");
    assert.equal(handlerSaw[0]!.code, 1006, "node:http's socket was destroyed at once");

    await using peer = new Peer(wsUrl(client, "/chat"), ["chat.v9"]);
    const close = await peer.closeEvent();
    assert.deepEqual(peer.timeline, ["error", "close(1006)"], "never opened");
    assert.equal(close.code, 1006);
    assert.equal(close.wasClean, false);

    // The upgrade went through on the server, so the handler ran. undici 7 fails the
    // connection without closing its TCP socket (nor reading it): the server cannot tell that
    // peer from an idle one, and it is the heartbeat's unanswered ping that drops it.
    await waitFor(() => finallyRan === 2, "the second handler's finally (heartbeat: 100)", 1500);
    assert.equal(handlerRuns, 2);
    assert.equal(handlerSaw[1]!.code, 1006);
    await waitFor(() => app.connections.websocket === 0, "no open WebSocket");
    assert.ok(
      lines.some((line) => /did not answer the last ping/.test(line.msg)),
      "the heartbeat dropped the failed connection",
    );
    assert.deepEqual(
      lines.filter((line) => line.level >= 50),
      [],
      "nothing was logged as an error",
    );

    // The server still serves a client that offers a protocol it speaks.
    await using good = await Peer.open(wsUrl(client, "/chat"), ["chat.v9", "chat.v2"]);
    assert.equal(good.ws.protocol, "chat.v2");
  });

  test("requireProtocol: true refuses the handshake with 400: undici sees error, close 1006", async () => {
    let handlerRuns = 0;
    const app = quietApp();
    app.websocket(
      "/chat",
      { protocols: ["chat.v2", "chat.v1"], requireProtocol: true },
      (socket) => {
        handlerRuns++;
        return echo(socket);
      },
    );
    await using client = await TestClient.start(app, { closeTimeout: 2000 });

    await using peer = new Peer(wsUrl(client, "/chat"), ["chat.v9", "chat.v8"]);
    const close = await peer.closeEvent();
    assert.deepEqual(peer.timeline, ["error", "close(1006)"]);
    assert.equal(close.code, 1006);

    await using noneOffered = new Peer(wsUrl(client, "/chat"));
    assert.equal((await noneOffered.closeEvent()).code, 1006);
    assert.deepEqual(noneOffered.timeline, ["error", "close(1006)"]);

    const answer = await upgradeRequest(client, "/chat", {
      "sec-websocket-protocol": "chat.v9, chat.v8",
    });
    assert.equal(answer.status, 400);
    assert.match(answer.headers["content-type"] ?? "", /^application\/json/);
    const body = JSON.parse(answer.body) as { message: string; requestId: string };
    assert.match(body.message, /chat\.v9, chat\.v8/);
    assert.match(body.message, /chat\.v2, chat\.v1/);
    assert.equal(body.requestId, answer.headers["x-request-id"]);

    assert.equal(handlerRuns, 0);
    assert.equal(app.connections.websocket, 0);

    await using good = await Peer.open(wsUrl(client, "/chat"), ["chat.v1"]);
    assert.equal(good.ws.protocol, "chat.v1");
    good.ws.send("ok");
    assert.equal(await good.next(), "ok");
    assert.equal(handlerRuns, 1);
  });
});

describe("WebSocket with undici: compression", () => {
  const big = "sluice streams. ".repeat(4096); // 64 KiB of repetitive text

  test("compression: true: permessage-deflate is agreed on and 64 KiB round-trips, compressed on the wire", async () => {
    const app = quietApp();
    app.websocket("/z", { compression: true }, echo);
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    const sockets = serverSockets(app);
    await using peer = await Peer.open(wsUrl(client, "/z"));

    assert.match(peer.ws.extensions, /^permessage-deflate(;|$)/);
    assert.match(peer.ws.extensions, /server_no_context_takeover/);
    assert.equal(big.length, 64 * 1024);
    const before = sockets[0]!.bytesWritten;
    peer.ws.send(big);
    const echoed = await peer.next("the 64 KiB echo");
    assert.equal(typeof echoed, "string");
    assert.equal((echoed as string).length, big.length);
    assert.ok(echoed === big, "the echo differs from what was sent");
    const written = sockets[0]!.bytesWritten - before;
    assert.ok(written < 4096, `the server wrote ${written} bytes for 64 KiB of repetitive text`);

    // Several in a row (no context takeover on the server side: each is compressed alone).
    for (let i = 0; i < 3; i++) peer.ws.send(`${i}:${big}`);
    for (let i = 0; i < 3; i++) assert.ok((await peer.next()) === `${i}:${big}`, `message ${i}`);
    peer.ws.send(new Uint8Array(70_000).fill(7));
    const bytes = bytesOf(await peer.next("the binary echo"));
    assert.equal(bytes.length, 70_000);
    assert.ok(bytes.every((byte) => byte === 7));
  });

  test("without compression: extensions is empty and the bytes go as they are", async () => {
    const app = quietApp();
    app.websocket("/plain", echo);
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    const sockets = serverSockets(app);
    await using peer = await Peer.open(wsUrl(client, "/plain"));
    assert.equal(peer.ws.extensions, "");
    const before = sockets[0]!.bytesWritten;
    peer.ws.send(big);
    assert.ok((await peer.next("the 64 KiB echo")) === big);
    const written = sockets[0]!.bytesWritten - before;
    assert.ok(written >= big.length, `the server wrote ${written} bytes`);
  });
});

describe("WebSocket with undici: close codes", () => {
  test("the handler returns: 1000, a clean close", async () => {
    const app = quietApp();
    app.websocket("/once", async (socket) => {
      await socket.send("bye soon");
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/once"));
    const close = await peer.closeEvent();
    assert.equal(close.code, 1000);
    assert.equal(close.reason, "");
    assert.equal(close.wasClean, true);
    assert.deepEqual(peer.timeline, ["open", "message:bye soon", "close(1000)"]);
    await waitFor(() => app.connections.websocket === 0, "no open WebSocket");
  });

  test("the handler throws: 1011 'Internal error', the error logged with the request id", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/boom", async (socket) => {
      await socket.sendJson({ id: socket.request.id });
      await socket.receive();
      throw new Error("database exploded");
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/boom"));
    const { id } = (await peer.nextJson()) as { id: string };
    peer.ws.send("go");
    const close = await peer.closeEvent();
    assert.equal(close.code, 1011);
    assert.equal(close.reason, "Internal error");
    assert.equal(close.wasClean, true);
    assert.doesNotMatch(close.reason, /database/, "the error's text stays on the server");

    const failures = lines.filter((line) => line.level >= 50);
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.equal(failures[0]!.reqId, id);
    assert.equal(failures[0]!.err?.message, "database exploded");
    assert.match(failures[0]!.msg, /1011/);
  });

  test("socket.close(4001, 'bye') from the server: undici sees 4001 / 'bye'", async () => {
    let after: CloseInfo | undefined;
    const app = quietApp();
    app.websocket("/kick", async (socket) => {
      await socket.receive();
      socket.close(4001, "bye");
      after = await socket.closed;
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/kick"));
    peer.ws.send("kick me");
    const close = await peer.closeEvent();
    assert.equal(close.code, 4001);
    assert.equal(close.reason, "bye");
    assert.equal(close.wasClean, true);
    // `closed` on the server is what the peer answered: undici echoes the code, not the
    // reason (RFC 6455 only says an endpoint "typically" echoes the code).
    await waitFor(() => after !== undefined, "the server's closed");
    assert.equal(after!.code, 4001);
    assert.ok(["", "bye"].includes(after!.reason), `reason ${JSON.stringify(after!.reason)}`);
  });

  test("app.close(): 1001 to every undici client, the handlers' finally runs, close resolves promptly", async () => {
    let finallyRan = 0;
    const app = quietApp();
    app.websocket("/live", async (socket) => {
      try {
        await socket.send("ready");
        await echo(socket);
      } finally {
        finallyRan++;
      }
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    const peers = [
      await Peer.open(wsUrl(client, "/live")),
      await Peer.open(wsUrl(client, "/live")),
    ];
    for (const peer of peers) assert.equal(await peer.next(), "ready");
    assert.equal(app.connections.websocket, 2);

    const started = performance.now();
    await within(app.close({ timeout: 3000 }), "app.close()", 4000);
    const took = performance.now() - started;
    assert.ok(took < 1000, `close took ${Math.round(took)} ms`);
    for (const peer of peers) {
      const close = await peer.closeEvent();
      assert.equal(close.code, 1001);
      assert.equal(close.reason, "Server shutting down");
      assert.equal(close.wasClean, true);
    }
    assert.equal(finallyRan, 2);
    assert.equal(app.connections.websocket, 0);

    // A new connection is refused.
    await using late = new Peer(wsUrl(client, "/live"));
    assert.equal((await late.closeEvent()).code, 1006);
    assert.ok(!late.timeline.includes("open"));
  });

  test("a message over maxPayload: 1009 for that client; another socket of the app keeps working", async () => {
    const serverSaw: CloseInfo[] = [];
    const app = quietApp();
    app.websocket("/small", { maxPayload: 1024 }, async (socket) => {
      await echo(socket);
      serverSaw.push(await socket.closed);
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using bystander = await Peer.open(wsUrl(client, "/small"));
    await using offender = await Peer.open(wsUrl(client, "/small"));

    offender.ws.send("x".repeat(1024));
    assert.equal(await offender.next("the 1024-byte echo"), "x".repeat(1024), "the limit passes");
    offender.ws.send("x".repeat(2048));
    const close = await offender.closeEvent();
    assert.equal(close.code, 1009);
    assert.equal(offender.messages.length, 1, "the oversized message was not echoed");

    await waitFor(() => serverSaw.length === 1, "the offender's handler to end");
    // ws stops reading a peer it closed for a protocol error, so it never reads undici's
    // echo: `closed` reports the close frame the server sent.
    assert.deepEqual(serverSaw[0], { code: 1009, reason: "" });
    await waitFor(() => app.connections.websocket === 1, "one open WebSocket");
    bystander.ws.send("still here");
    assert.equal(await bystander.next(), "still here");
    bystander.ws.send(new Uint8Array(1000).fill(1));
    assert.equal(bytesOf(await bystander.next()).length, 1000);

    await using newcomer = await Peer.open(wsUrl(client, "/small"));
    newcomer.ws.send("and a new one");
    assert.equal(await newcomer.next(), "and a new one");
  });
});

describe("WebSocket with undici: heartbeat", () => {
  test("undici answers sluice's pings: an idle connection outlives many heartbeat intervals", async () => {
    const app = quietApp();
    app.websocket("/idle", { heartbeat: 50 }, echo);
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/idle"));
    await sleep(400);
    assert.deepEqual(peer.timeline, ["open"], "nothing happened in 8 intervals of silence");
    assert.equal(app.connections.websocket, 1);
    peer.ws.send("awake");
    assert.equal(await peer.next(), "awake");
  });
});

describe("WebSocket with undici: the client closes", () => {
  test("close(4000, reason) from undici: socket.closed has it, the loop ends, finally runs, connections back to 0", async () => {
    let closedWith: CloseInfo | undefined;
    let loopEnded = false;
    let finallyRan = false;
    const received: string[] = [];
    const app = quietApp();
    app.websocket("/chat", async (socket) => {
      socket.closed.then((info) => {
        closedWith = info;
      });
      try {
        await socket.send("hello");
        for await (const message of socket) received.push(String(message));
        loopEnded = true;
      } finally {
        finallyRan = true;
      }
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/chat"));
    assert.equal(await peer.next(), "hello");
    assert.equal(app.connections.websocket, 1);

    peer.ws.send("one");
    peer.ws.send("two");
    peer.ws.close(4000, "client done ✓");
    const close = await peer.closeEvent();
    assert.equal(close.code, 4000, "the server echoed the client's code");
    assert.equal(close.reason, "client done ✓");
    assert.equal(close.wasClean, true);

    await waitFor(() => finallyRan, "the handler's finally");
    assert.equal(loopEnded, true, "for await ended without an error");
    assert.deepEqual(received, ["one", "two"], "messages sent before the close were delivered");
    assert.deepEqual(closedWith, { code: 4000, reason: "client done ✓" });
    await waitFor(() => app.connections.websocket === 0, "no open WebSocket");
  });

  test("close() without a code: both ends see 1005 (no status), the server side ends", async () => {
    const seen: CloseInfo[] = [];
    const app = quietApp();
    app.websocket("/chat", async (socket) => {
      seen.push(await socket.closed);
    });
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/chat"));
    peer.ws.close();
    const close = await peer.closeEvent();
    assert.equal(close.code, 1005);
    await waitFor(() => seen.length === 1, "the server's closed");
    assert.deepEqual(seen[0], { code: 1005, reason: "" });
    await waitFor(() => app.connections.websocket === 0, "no open WebSocket");
  });
});

describe("WebSocket with undici: middleware before the upgrade", () => {
  function authApp() {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    const handled: unknown[] = [];
    app.use(async (req, next) => {
      const token = req.query.get("token");
      if (token !== "s3cret") throw new HttpError(401, "bad token");
      req.state.user = { name: "alice" };
      req.setResponseHeader("set-cookie", "session=abc; HttpOnly");
      return next();
    });
    app.websocket("/ws", async (socket, request) => {
      handled.push(socket.request.state.user);
      await socket.sendJson({
        user: socket.request.state.user,
        sameRequest: request === socket.request,
        token: request.query.get("token"),
      });
      await echo(socket);
    });
    return { app, lines, handled };
  }

  test("a bad or missing token: HttpError(401) in middleware, undici fails (error, close 1006), the handler never runs", async () => {
    const { app, lines, handled } = authApp();
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    for (const path of ["/ws?token=wrong", "/ws"]) {
      await using peer = new Peer(wsUrl(client, path));
      const close = await peer.closeEvent();
      assert.deepEqual(peer.timeline, ["error", "close(1006)"], path);
      assert.equal(close.wasClean, false);
    }
    const answer = await upgradeRequest(client, "/ws?token=wrong");
    assert.equal(answer.status, 401);
    assert.equal(JSON.parse(answer.body).message, "bad token");
    assert.equal(answer.headers.upgrade, undefined);
    assert.deepEqual(handled, []);
    assert.equal(app.connections.websocket, 0);
    assert.deepEqual(
      lines.filter((line) => line.level >= 50),
      [],
    );
  });

  test("a good token: req.state set by middleware is on socket.request in the handler", async () => {
    const { app, handled } = authApp();
    await using client = await TestClient.start(app, { closeTimeout: 2000 });
    await using peer = await Peer.open(wsUrl(client, "/ws?token=s3cret"));
    assert.deepEqual(await peer.nextJson(), {
      user: { name: "alice" },
      sameRequest: true,
      token: "s3cret",
    });
    peer.ws.send("echo?");
    assert.equal(await peer.next(), "echo?");
    assert.deepEqual(handled, [{ name: "alice" }]);

    // The headers middleware set go out with the 101 (undici accepted them above).
    const answer = await upgradeRequest(client, "/ws?token=s3cret");
    assert.equal(answer.status, 101);
    assert.deepEqual(answer.headers["set-cookie"], ["session=abc; HttpOnly"]);
    assert.ok(answer.headers["x-request-id"]);
    await waitFor(() => handled.length === 2, "the second handler");
    await waitFor(() => app.connections.websocket === 1, "node:http's socket to be closed");
  });
});
