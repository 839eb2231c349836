// The hostile-input catalogue for HTTP (and SSE input), over raw sockets on 127.0.0.1: every
// malformed, oversized or slow request gets a clear status (or close), the connection is closed
// where it should be, nothing is logged as a server error, and a healthy SSE subscriber and
// WebSocket peer opened beforehand keep working throughout (test/support/hostile.ts).
//
// Who answers what: errors Node's parser (llhttp) raises before a request reaches the app go
// through sluice's 'clientError' handler (src/server/client-error.ts): 400/408/413/431, a JSON
// body `{ error, message }` with the parser's message, `Connection: close`. Malformed WebSocket
// handshakes get ws's own plain-text answer. Everything else is the app's JSON error, with a
// request id. Messages asserted below are those of Node 20's llhttp.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { EventSource } from "eventsource";
import { type App, SseEvent } from "../src/index.js";
import { openConnections } from "./support/apps.js";
import {
  assertRefused,
  captureTlsClientHello,
  dribble,
  errorMessages,
  type HostileServer,
  jsonBody,
  parseAnswer,
  type RawAnswer,
  seededBytes,
  sendRaw,
  startHostileServer,
} from "./support/hostile.js";
import { decodeChunked } from "./support/raw-http.js";
import { eventually, sleep, waitFor, within } from "./support/wait.js";

const UPGRADE_HEADERS =
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/** A refusal by Node's parser: always `Connection: close`, so the connection must end. */
interface ParserRefusal {
  name: string;
  payload: string | Buffer;
  status?: string;
  message: string;
}

/** Defines one hostile case; afterwards the healthy clients must still be served. */
function hostileCase(name: string, server: () => HostileServer, run: () => Promise<void>): void {
  test(name, async () => {
    await run();
    await server().healthy.assertStillServed(name);
  });
}

function parserRefusals(server: () => HostileServer, cases: ParserRefusal[]): void {
  for (const { name, payload, status = "400 Bad Request", message } of cases) {
    hostileCase(`${name} -> ${status.slice(0, 3)}, connection closed`, server, async () => {
      assertRefused(await sendRaw(server().port, payload), status, message);
    });
  }
}

function noErrorLogged(server: () => HostileServer): void {
  test("none of these client mistakes was logged at error level", () => {
    assert.deepEqual(errorMessages(server().lines), []);
  });
}

describe("malformed request lines", () => {
  let server: HostileServer;
  let clientHello: Buffer;
  before(async () => {
    server = await startHostileServer({ maxHeaderSize: 2048 });
    clientHello = await captureTlsClientHello();
  });
  after(() => server.client.close());
  const current = () => server;

  parserRefusals(current, [
    {
      name: "garbage instead of a request line",
      payload: "NOT HTTP AT ALL\r\n\r\n",
      message: "Parse Error: Invalid method encountered",
    },
    {
      name: "HTTP/9.9",
      payload: "GET /ping HTTP/9.9\r\nHost: x\r\n\r\n",
      message: "Parse Error: Invalid HTTP version",
    },
    {
      name: "a lower-case method",
      payload: "get /ping HTTP/1.1\r\nHost: x\r\n\r\n",
      message: "Parse Error: Invalid method encountered",
    },
    {
      name: "a method that is not a token",
      payload: "G(T /ping HTTP/1.1\r\nHost: x\r\n\r\n",
      message: "Parse Error: Invalid method encountered",
    },
    {
      name: "a method llhttp does not know",
      payload: "FROB /ping HTTP/1.1\r\nHost: x\r\n\r\n",
      message: "Parse Error: Invalid method encountered",
    },
    {
      name: "a space inside the target",
      payload: "GET /pi ng HTTP/1.1\r\nHost: x\r\n\r\n",
      message: "Parse Error: Expected HTTP/, RTSP/ or ICE/",
    },
    {
      name: "an absolute-form target whose host has a space",
      payload: "GET http://exa mple/ping HTTP/1.1\r\nHost: x\r\n\r\n",
      message: "Parse Error: Expected HTTP/, RTSP/ or ICE/",
    },
    {
      name: "a NUL byte in the target",
      payload: "GET /pi\0ng HTTP/1.1\r\nHost: x\r\n\r\n",
      message: "Parse Error: Invalid char in url path",
    },
    {
      name: "a request line longer than maxHeaderSize",
      payload: `GET /${"a".repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      status: "431 Request Header Fields Too Large",
      message: "Parse Error: Header overflow",
    },
    {
      name: "an HTTP/2 prior-knowledge preface",
      payload: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      message: "Parse Error: Pause on PRI/Upgrade",
    },
    {
      name: "512 bytes of binary junk (fixed seed)",
      payload: seededBytes(0x5eed, 512),
      message: "Parse Error: Invalid method encountered",
    },
  ]);

  hostileCase(
    "a TLS ClientHello sent to the plain port -> 400, connection closed",
    current,
    async () => {
      assert.equal(clientHello[0], 0x16, "a TLS handshake record");
      const answer = await sendRaw(server.port, clientHello);
      assertRefused(answer, "400 Bad Request", "Parse Error: Invalid method encountered");
    },
  );

  hostileCase(
    "a request line without a version is HTTP/0.9 to Node: answered once, then closed",
    current,
    async () => {
      const answer = await sendRaw(server.port, "GET /ping\r\nHost: x\r\n\r\n");
      assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
      assert.equal(answer.body, "pong");
      assert.equal(answer.headers.connection, "close");
      assert.equal(answer.closedByServer, true);
      assert.equal(
        answer.raw.match(/HTTP\/1\.1 /g)?.length,
        1,
        "the header lines are not a request",
      );
    },
  );

  test("an absolute-form target with a malformed authority -> 400", async () => {
    for (const target of ["http://[::1/ping", "http://a@b@c:99999/ping"]) {
      const answer = await sendRaw(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, {
        until: "answer",
      });
      assert.equal(answer.statusLine, "HTTP/1.1 400 Bad Request", target);
    }
  });

  noErrorLogged(current);
});

describe("malformed headers, framing and bodies", () => {
  let server: HostileServer;
  before(async () => {
    server = await startHostileServer({ bodyLimit: 1024 }, (app) =>
      app.get("/host", (req) => req.header("host") ?? ""),
    );
  });
  after(() => server.client.close());
  const current = () => server;

  parserRefusals(current, [
    {
      name: "a header line without a colon",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
      message: "Parse Error: Invalid header token",
    },
    {
      name: "whitespace between a header name and its colon",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n",
      message: "Parse Error: Invalid header token",
    },
    {
      name: "a header name with a character that is not a token",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n",
      message: "Parse Error: Invalid header token",
    },
    {
      name: "a bare CR ending the request line",
      payload: "GET /ping HTTP/1.1\rHost: x\r\r",
      message: "Parse Error: Expected CRLF after version",
    },
    {
      name: "a bare CR ending a header line",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\n\r\n",
      message: "Parse Error: Missing expected LF after header value",
    },
    {
      // Node 20's llhttp is strict: LF alone does not end a line (RFC 9112 allows a server to
      // accept it; refusing is the safer reading).
      name: "bare LF line endings",
      payload: "GET /ping HTTP/1.1\nHost: x\n\n",
      message: "Parse Error: Expected CRLF after version",
    },
    {
      name: "a NUL byte in a header value",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
      message: "Parse Error: Invalid header value char",
    },
    {
      name: "a control character (0x01) in a header value",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
      message: "Parse Error: Invalid header value char",
    },
    {
      name: "DEL (0x7f) in a header value",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
      message: "Parse Error: Invalid header value char",
    },
    {
      name: "an obs-fold continuation line",
      payload: "GET /ping HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
      message: "Parse Error: Unexpected whitespace after header value",
    },
    {
      name: "two Content-Length headers that differ",
      payload: "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
      message: "Parse Error: Duplicate Content-Length",
    },
    {
      name: "two equal Content-Length headers (refused too)",
      payload: "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
      message: "Parse Error: Duplicate Content-Length",
    },
    {
      name: "Content-Length and Transfer-Encoding together (request smuggling shape)",
      payload:
        "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      message: "Parse Error: Transfer-Encoding can't be present with Content-Length",
    },
    {
      name: "Transfer-Encoding: chunked, chunked",
      payload:
        "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      message: "Parse Error: Invalid `Transfer-Encoding` header value",
    },
    {
      name: "a negative Content-Length",
      payload: "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
      message: "Parse Error: Invalid character in Content-Length",
    },
    {
      name: "a non-numeric Content-Length",
      payload: "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
      message: "Parse Error: Invalid character in Content-Length",
    },
  ]);

  // The head is fine and the handler runs; the parser fails in the body. Before the fix in
  // src/server/client-error.ts the connection was cut without a status.
  const badBodies: { name: string; framing: string; status?: string; message: string }[] = [
    {
      name: "a chunk size that is not hex",
      framing: "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      message: "Parse Error: Invalid character in chunk size",
    },
    {
      name: "a chunk size that overflows",
      framing: "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
      message: "Parse Error: Chunk size overflow",
    },
    {
      name: "no CRLF after a chunk's data",
      framing: "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
      message: "Parse Error: Expected LF after chunk data",
    },
    {
      name: "a malformed chunk extension",
      framing: "Transfer-Encoding: chunked\r\n\r\n2;a=b;\r\n{}\r\n0\r\n\r\n",
      message: "Parse Error: Invalid character in chunk extensions",
    },
    {
      name: "a chunk extension over 16 KiB",
      framing: `Transfer-Encoding: chunked\r\n\r\n2;x=${"v".repeat(16 * 1024)}\r\n{}\r\n0\r\n\r\n`,
      status: "413 Payload Too Large",
      message: "Parse Error: Chunk extensions overflow",
    },
    {
      name: "a Transfer-Encoding that does not end with chunked",
      framing: "Transfer-Encoding: gzip\r\n\r\n{}",
      message: "Parse Error: Request has invalid `Transfer-Encoding`",
    },
  ];
  for (const route of ["/json", "/later"]) {
    const reads = route === "/json" ? "reads the body" : "does not read the body";
    for (const { name, framing, status = "400 Bad Request", message } of badBodies) {
      hostileCase(
        `${name}, to a handler that ${reads} -> ${status.slice(0, 3)}`,
        current,
        async () => {
          const answer = await sendRaw(
            server.port,
            `POST ${route} HTTP/1.1\r\nHost: x\r\n${framing}`,
          );
          assertRefused(answer, status, message);
        },
      );
    }
  }

  hostileCase("a short, well-formed chunk extension is accepted (control)", current, async () => {
    const answer = await sendRaw(
      server.port,
      "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2;foo=bar\r\n{}\r\n0\r\n\r\n",
    );
    assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
    assert.deepEqual(jsonBody(answer), { received: {} });
  });

  hostileCase(
    "no Host on HTTP/1.1 -> Node's own 400 (empty body), connection closed",
    current,
    async () => {
      // Node answers this one itself (requireHostHeader), before sluice sees the request.
      const answer = await sendRaw(server.port, "GET /ping HTTP/1.1\r\n\r\n");
      assert.equal(answer.statusLine, "HTTP/1.1 400 Bad Request");
      assert.equal(answer.headers.connection, "close");
      assert.equal(answer.body, "");
      assert.equal(answer.closedByServer, true);
      // HTTP/1.0 has no Host requirement.
      const old = await sendRaw(server.port, "GET /ping HTTP/1.0\r\n\r\n");
      assert.equal(old.statusLine, "HTTP/1.1 200 OK");
      assert.equal(old.body, "pong");
    },
  );

  test("two Host headers -> 400 (RFC 9112 section 3.2)", async () => {
    const answer = await sendRaw(server.port, "GET /ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {
      until: "answer",
    });
    assert.equal(answer.statusLine, "HTTP/1.1 400 Bad Request");
    assert.match(answer.body, /More than one Host header/);
    const upgrade = await sendRaw(
      server.port,
      `GET /ws HTTP/1.1\r\nHost: a\r\nhost: b\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`,
      { until: "answer" },
    );
    assert.equal(upgrade.statusLine, "HTTP/1.1 400 Bad Request");
    assert.match(upgrade.body, /More than one Host header/);
  });

  test("an invalid Host (spaces, a path, two hosts merged by a proxy) -> 400; valid forms are served", async () => {
    for (const host of ["a b", "good.example/evil", "good.example, evil.example", "a@b", "[::1"]) {
      const answer = await sendRaw(server.port, `GET /ping HTTP/1.1\r\nHost: ${host}\r\n\r\n`, {
        until: "answer",
      });
      assert.equal(answer.statusLine, "HTTP/1.1 400 Bad Request", host);
      assert.match(answer.body, /Invalid Host header/, host);
    }
    for (const host of ["app.example", "APP.example:8080", "127.0.0.1:3000", "[::1]:3000", "x"]) {
      const answer = await sendRaw(server.port, `GET /ping HTTP/1.1\r\nHost: ${host}\r\n\r\n`, {
        until: "answer",
      });
      assert.equal(answer.statusLine, "HTTP/1.1 200 OK", host);
    }
  });

  test("absolute-form: the target's host wins over the Host header (RFC 9112 3.2.2), for the app and the WebSocket origin check", async () => {
    const answer = await sendRaw(
      server.port,
      "GET http://good.example:8080/host HTTP/1.1\r\nHost: evil.example\r\n\r\n",
      { until: "answer" },
    );
    assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
    assert.equal(answer.body, "good.example:8080");
    // Origin and Host agree, but the target names another host: not same-origin.
    const upgrade = await sendRaw(
      server.port,
      `GET http://victim.example/ws HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`,
      { until: "answer" },
    );
    assert.equal(upgrade.statusLine, "HTTP/1.1 403 Forbidden");
  });

  noErrorLogged(current);
});

describe("limits: head size, header count, body size, Last-Event-ID", () => {
  const maxHeaderSize = 2048;
  const maxHeadersCount = 20;
  const bodyLimit = 1024;
  let server: HostileServer;
  before(async () => {
    server = await startHostileServer({ maxHeaderSize, maxHeadersCount, bodyLimit });
  });
  after(() => server.client.close());
  const current = () => server;

  /**
   * A GET whose head Node counts as `counted` bytes: Node adds up the target and each header
   * name and value (not the method, version, separators or line ends) and refuses from
   * `maxHeaderSize` on.
   */
  function headCounting(counted: number): string {
    const fixed = "/ping".length + "Host".length + "x".length + "X-Pad".length;
    return `GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(counted - fixed)}\r\n\r\n`;
  }

  hostileCase("a head one byte under maxHeaderSize is served", current, async () => {
    const answer = await sendRaw(server.port, headCounting(maxHeaderSize - 1), { until: "answer" });
    assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
  });

  hostileCase("a head at maxHeaderSize -> 431, connection closed", current, async () => {
    const answer = await sendRaw(server.port, headCounting(maxHeaderSize));
    assertRefused(answer, "431 Request Header Fields Too Large", "Parse Error: Header overflow");
  });

  function headWithFields(count: number): string {
    const extra = Array.from({ length: count - 1 }, (_, i) => `X-Field-${i}: ${i}\r\n`).join("");
    return `GET /ping HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
  }

  hostileCase("exactly maxHeadersCount header fields are served", current, async () => {
    const answer = await sendRaw(server.port, headWithFields(maxHeadersCount), { until: "answer" });
    assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
  });

  hostileCase(
    "one field over maxHeadersCount -> 431 with the message; the connection still serves",
    current,
    async () => {
      const next = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      const answer = await sendRaw(server.port, headWithFields(maxHeadersCount + 1) + next);
      assertRefused(
        answer,
        "431 Request Header Fields Too Large",
        `Too many header fields: more than ${maxHeadersCount} (maxHeadersCount)`,
        { closes: false },
      );
      // The refusal is the app's: the connection goes on, and the next request is served.
      const second = parseAnswer(answer.raw.slice(answer.raw.indexOf("HTTP/1.1", 1)));
      assert.equal(second.statusLine, "HTTP/1.1 200 OK");
      assert.equal(second.body, "pong");
    },
  );

  hostileCase(
    "a declared body over bodyLimit -> 413 at once, without the rest",
    current,
    async () => {
      // Declares 100 000 bytes and sends 100: the answer must not wait for the rest.
      const answer = await sendRaw(
        server.port,
        `POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n${"[".repeat(100)}`,
      );
      assertRefused(
        answer,
        "413 Payload Too Large",
        `Request body is larger than the limit of ${bodyLimit} bytes`,
      );
    },
  );

  hostileCase("a chunked body that grows past bodyLimit -> 413 once past it", current, async () => {
    const socket = connect(server.port, "127.0.0.1");
    let raw = "";
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => {
      raw += data;
    });
    socket.on("error", () => {});
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.write("POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    let sent = 0;
    // 256-byte chunks, never a terminating one: sluice must refuse as soon as it is over.
    while (raw === "" && sent < 64 * 256 && !socket.destroyed) {
      socket.write(`100\r\n${"x".repeat(256)}\r\n`);
      sent += 256;
      await sleep(5);
    }
    await within(closed, "the server to close the connection after its 413", 5000);
    const answer: RawAnswer = { ...parseAnswer(raw), raw, closedByServer: true };
    assertRefused(
      answer,
      "413 Payload Too Large",
      `Request body is larger than the limit of ${bodyLimit} bytes`,
    );
    assert.ok(sent > bodyLimit, `refused after ${sent} bytes only once over the limit`);
    assert.ok(sent < 64 * 256, `refused after ${sent} bytes, before the client gave up`);
  });

  hostileCase("a JSON body of exactly bodyLimit bytes is accepted (control)", current, async () => {
    const json = JSON.stringify({ pad: "p".repeat(bodyLimit - 10) });
    assert.equal(Buffer.byteLength(json), bodyLimit);
    const answer = await sendRaw(
      server.port,
      `POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: ${bodyLimit}\r\nConnection: close\r\n\r\n${json}`,
    );
    assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
    assert.deepEqual(jsonBody(answer), { received: JSON.parse(json) });
  });

  hostileCase("an invalid JSON body -> 400 naming it; an empty one -> 400", current, async () => {
    const invalid = await sendRaw(
      server.port,
      "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{bad}",
      { until: "answer" },
    );
    assertRefused(invalid, "400 Bad Request", /^Malformed JSON body: /, { closes: false });
    const emptyBody = "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    const empty = await sendRaw(server.port, emptyBody, { until: "answer" });
    assertRefused(empty, "400 Bad Request", "Request body is empty; JSON was expected", {
      closes: false,
    });
  });

  function resumeWith(lastEventId: string | Buffer): Buffer {
    return Buffer.concat([
      Buffer.from("GET /resume HTTP/1.1\r\nHost: x\r\nConnection: close\r\nLast-Event-ID: "),
      Buffer.from(lastEventId),
      Buffer.from("\r\n\r\n"),
    ]);
  }

  hostileCase("a Last-Event-ID of 1025 bytes -> 400", current, async () => {
    const answer = await sendRaw(server.port, resumeWith("i".repeat(1025)));
    assertRefused(
      answer,
      "400 Bad Request",
      "Last-Event-ID is too long: 1025 bytes, at most 1024 are accepted",
    );
  });

  hostileCase(
    "a Last-Event-ID of exactly 1024 bytes (ASCII, or UTF-8) is accepted",
    current,
    async () => {
      for (const id of ["i".repeat(1024), "é".repeat(512)]) {
        assert.equal(Buffer.byteLength(id), 1024);
        const answer = await sendRaw(server.port, resumeWith(Buffer.from(id, "utf8")));
        assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
        assert.match(answer.headers["content-type"], /^text\/event-stream/);
        // The body is UTF-8 read as Latin-1 here: decode it back before parsing the event.
        const data = Buffer.from(answer.body, "latin1").toString("utf8");
        assert.equal(data, `data: ${JSON.stringify({ lastEventId: id })}\n\n`);
      }
    },
  );

  noErrorLogged(current);
});

describe("slow and idle clients", () => {
  const headersTimeout = 500;
  const requestTimeout = 1000;
  const keepAliveTimeout = 300;
  let server: HostileServer;
  before(async () => {
    server = await startHostileServer({ headersTimeout, requestTimeout, keepAliveTimeout });
  });
  after(() => server.client.close());
  const current = () => server;
  const endlessHead = `GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ${"z".repeat(500)}`;

  test("Node checks the deadlines every min(1000, headersTimeout) ms", () => {
    const node = server.app.server as unknown as { connectionsCheckingInterval: number };
    assert.equal(node.connectionsCheckingInterval, headersTimeout);
  });

  hostileCase(
    "50 slowloris clients (a byte of head every 100 ms) get 408 after headersTimeout; a normal client is served meanwhile",
    current,
    async () => {
      const slow = Array.from({ length: 50 }, () => dribble(server.port, endlessHead, 100));
      await sleep(150); // every slow client has started its head
      // While all 50 are still dribbling, normal requests are answered.
      for (let i = 0; i < 5; i++) {
        const ping = await within(server.client.get("/ping"), "GET /ping beside 50 slow clients");
        assert.equal(ping.statusCode, 200);
      }
      const stillOpen = slow.filter((client) => client.received() === "").length;
      assert.ok(stillOpen > 0, "the GETs were served while slow clients were still waiting");
      const ends = await within(
        Promise.all(slow.map((client) => client.closed)),
        "every slowloris connection to be closed",
        8000,
      );
      for (const { raw, elapsedMs } of ends) {
        const answer: RawAnswer = { ...parseAnswer(raw), raw, closedByServer: true };
        assertRefused(answer, "408 Request Timeout", "Request timeout");
        // Checked every 500 ms: after headersTimeout, within two checks (plus a loaded machine).
        assert.ok(elapsedMs >= headersTimeout - 50, `408 after ${Math.round(elapsedMs)} ms`);
        assert.ok(
          elapsedMs < headersTimeout + 2 * 500 + 2000,
          `408 after ${Math.round(elapsedMs)} ms`,
        );
      }
    },
  );

  hostileCase(
    "a body sent slower than requestTimeout -> 408, connection closed",
    current,
    async () => {
      const head = "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
      const socket = connect(server.port, "127.0.0.1");
      let raw = "";
      socket.setEncoding("latin1");
      socket.on("data", (data: string) => {
        raw += data;
      });
      socket.on("error", () => {});
      const started = performance.now();
      socket.write(head);
      const drip = setInterval(() => socket.writable && socket.write(" "), 200);
      try {
        await within(
          new Promise((resolve) => socket.once("close", resolve)),
          "the slow upload to be closed",
          6000,
        );
      } finally {
        clearInterval(drip);
      }
      const elapsed = performance.now() - started;
      const answer: RawAnswer = { ...parseAnswer(raw), raw, closedByServer: true };
      assertRefused(answer, "408 Request Timeout", "Request timeout");
      assert.ok(elapsed >= requestTimeout - 50, `closed after ${Math.round(elapsed)} ms`);
    },
  );

  hostileCase(
    "after a 408 nothing more on that connection is served (not the rest of the slow request, not a next one), and a half-open client does not keep it open",
    current,
    async () => {
      let served = 0;
      server.app.post("/count", async (req) => {
        await req.text();
        served++;
        return "counted";
      });
      const connectionsBefore = await openConnections(server.app);
      const socket = connect({ port: server.port, host: "127.0.0.1", allowHalfOpen: true });
      let raw = "";
      socket.setEncoding("latin1");
      socket.on("data", (data: string) => {
        raw += data;
      });
      socket.on("error", () => {});
      socket.write("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\na");
      await waitFor(() => raw.includes("\r\n\r\n"), "the 408", 6000);
      assert.match(raw, /^HTTP\/1\.1 408 /);
      // The rest of the body, then a second request: neither may reach a handler.
      socket.write("bcdefghij");
      socket.write("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
      // The client never closes its side: the server closes the connection itself.
      await eventually(
        async () => (await openConnections(server.app)) === connectionsBefore,
        "the server to close the half-open connection",
        6000,
      );
      assert.equal(served, 0, "no handler ran for bytes sent after the 408");
      assert.equal(raw.match(/HTTP\/1\.1 /g)?.length, 1, "nothing but the 408");
      socket.destroy();
    },
  );

  hostileCase(
    "an idle keep-alive connection is closed after keepAliveTimeout (+ Node's 1 s buffer)",
    current,
    async () => {
      const socket = connect(server.port, "127.0.0.1");
      let raw = "";
      socket.setEncoding("latin1");
      socket.on("data", (data: string) => {
        raw += data;
      });
      socket.on("error", () => {});
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
      await waitFor(() => raw.endsWith("pong"), "the answer on the keep-alive connection");
      const answeredAt = performance.now();
      await within(closed, "the idle connection to be closed", 6000);
      const idle = performance.now() - answeredAt;
      assert.match(raw, /connection: keep-alive/i);
      assert.equal(raw.match(/HTTP\/1\.1 /g)?.length, 1, "nothing but the one answer (no 408)");
      // Node 20 arms the socket timeout at keepAliveTimeout + 1000 ms (a fixed buffer).
      assert.ok(idle >= keepAliveTimeout - 20, `closed after ${Math.round(idle)} ms idle`);
      assert.ok(idle < keepAliveTimeout + 1000 + 2000, `closed after ${Math.round(idle)} ms idle`);
    },
  );

  noErrorLogged(current);
});

describe("bad WebSocket upgrade requests", () => {
  const maxHeadersCount = 20;
  let server: HostileServer;
  before(async () => {
    server = await startHostileServer({ maxHeadersCount });
  });
  after(() => server.client.close());
  const current = () => server;

  /** A refused upgrade never becomes a WebSocket: only the healthy one stays open. */
  async function assertNoSocketOpened(): Promise<void> {
    await waitFor(() => server.app.connections.websocket === 1, "only the healthy WebSocket");
  }

  function assertWsRefusal(answer: RawAnswer, status: string, body: string): void {
    assert.equal(answer.statusLine, `HTTP/1.1 ${status}`, `answer: ${JSON.stringify(answer.raw)}`);
    assert.equal(answer.headers["content-type"], "text/html");
    assert.equal(answer.body, body);
    assert.equal(answer.closedByServer, true);
  }

  hostileCase("no Sec-WebSocket-Key -> 400 from ws", current, async () => {
    const answer = await sendRaw(
      server.port,
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assertWsRefusal(answer, "400 Bad Request", "Missing or invalid Sec-WebSocket-Key header");
    await assertNoSocketOpened();
  });

  hostileCase("a Sec-WebSocket-Key that is not 16 bytes of base64 -> 400", current, async () => {
    for (const key of ["abc", Buffer.alloc(15, 1).toString("base64"), "!!!!!!!!!!!!!!!!!!!!!!=="]) {
      const answer = await sendRaw(
        server.port,
        `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      assertWsRefusal(answer, "400 Bad Request", "Missing or invalid Sec-WebSocket-Key header");
    }
    await assertNoSocketOpened();
  });

  hostileCase(
    "a Sec-WebSocket-Version other than 13 or 8 (or none) -> 400 naming 13, 8",
    current,
    async () => {
      // ws answers 400 (RFC 6455 suggests 426) and lists the versions it speaks.
      for (const version of ["abc", "7", "14", undefined]) {
        const line = version === undefined ? "" : `Sec-WebSocket-Version: ${version}\r\n`;
        const answer = await sendRaw(
          server.port,
          `GET /ws HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}${line}\r\n`,
        );
        assertWsRefusal(
          answer,
          "400 Bad Request",
          "Missing or invalid Sec-WebSocket-Version header",
        );
        assert.equal(answer.headers["sec-websocket-version"], "13, 8");
      }
      await assertNoSocketOpened();
    },
  );

  hostileCase(
    "Sec-WebSocket-Version: 8 (hybi-08, which ws still speaks) is upgraded",
    current,
    async () => {
      const answer = await sendRaw(
        server.port,
        `GET /ws HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 8\r\n\r\n`,
        { until: "answer", timeout: 1000 },
      );
      assert.equal(answer.statusLine, "HTTP/1.1 101 Switching Protocols");
      assert.equal(answer.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      await assertNoSocketOpened(); // sendRaw hung up: that socket is gone again
    },
  );

  hostileCase(
    "Upgrade: websocket with Connection: keep-alive (no upgrade token) -> 426, not upgraded",
    current,
    async () => {
      // Without the token Node does not treat it as an upgrade: the plain request meets a
      // WebSocket-only path.
      const answer = await sendRaw(
        server.port,
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        { until: "answer" },
      );
      assertRefused(answer, "426 Upgrade Required", "/ws is a WebSocket endpoint", {
        closes: false,
      });
      assert.equal(answer.headers.upgrade, "websocket");
      await assertNoSocketOpened();
    },
  );

  hostileCase("an upgrade with POST -> 405 from ws", current, async () => {
    const answer = await sendRaw(
      server.port,
      `POST /ws HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`,
    );
    assertWsRefusal(answer, "405 Method Not Allowed", "Invalid HTTP method");
    await assertNoSocketOpened();
  });

  hostileCase("an upgrade to a path with no WebSocket route -> 404", current, async () => {
    const answer = await sendRaw(
      server.port,
      `GET /nope HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`,
    );
    assertRefused(answer, "404 Not Found", "No WebSocket route for /nope");
    await assertNoSocketOpened();
  });

  hostileCase("an upgrade with more than maxHeadersCount fields -> 431", current, async () => {
    const extra = Array.from({ length: maxHeadersCount }, (_, i) => `X-Field-${i}: ${i}\r\n`).join(
      "",
    );
    const answer = await sendRaw(
      server.port,
      `GET /ws HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    assertRefused(
      answer,
      "431 Request Header Fields Too Large",
      `Too many header fields: more than ${maxHeadersCount} (maxHeadersCount)`,
    );
    await assertNoSocketOpened();
  });

  hostileCase("a well-formed raw handshake is upgraded (control)", current, async () => {
    const answer = await sendRaw(
      server.port,
      `GET /ws HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`,
      { until: "answer", timeout: 1000 },
    );
    assert.equal(answer.statusLine, "HTTP/1.1 101 Switching Protocols");
    await assertNoSocketOpened();
  });

  noErrorLogged(current);
});

describe("CR, LF and NUL in SSE ids, event names, data and Last-Event-ID", () => {
  const datas = ["a\rb", "a\nb", "a\r\nb", "a\0b", "\r\n\r\n", "trail\n", "\nlead", "x\r\r\ny"];
  /** What a client gets back: every line break, whatever its form, is `\n`. */
  const expected = datas.map((data) => data.replace(/\r\n|\r/g, "\n"));
  let server: HostileServer;
  before(async () => {
    server = await startHostileServer({}, addSseRoutes);
  });
  after(() => server.client.close());
  const current = () => server;

  function addSseRoutes(app: App): void {
    app.sse("/data", function* () {
      for (const data of datas) yield new SseEvent({ data });
    });
    const badMidStream = async function* () {
      yield new SseEvent({ data: "before" });
      await sleep(10);
      yield new SseEvent({ id: "a\nb", data: "never sent" });
      yield new SseEvent({ data: "after" });
    };
    app.sse("/bad-mid-stream", badMidStream);
    app.sse("/bad-mid-stream-error-event", { errorEvent: true }, badMidStream);
  }

  test("an id with CR, LF, CRLF or NUL, or an event name with CR or LF, throws a TypeError", () => {
    for (const id of ["a\nb", "a\rb", "a\r\nb", "a\0b"]) {
      assert.throws(() => new SseEvent({ id, data: 1 }), {
        name: "TypeError",
        message: `SseEvent id must not contain CR, LF or NUL (it would inject fields or be ignored): ${JSON.stringify(id)}`,
      });
    }
    for (const event of ["x\r", "x\n", "x\r\ny"]) {
      assert.throws(() => new SseEvent({ event, data: 1 }), {
        name: "TypeError",
        message: `SseEvent event must not contain CR or LF (it would inject fields): ${JSON.stringify(event)}`,
      });
    }
    // NUL in an event name injects nothing: the spec dispatches it as it is.
    assert.equal(new SseEvent({ event: "a\0b", data: 1 }).frame, "event: a\0b\ndata: 1\n\n");
  });

  hostileCase(
    "data with CR, LF, CRLF and NUL reaches the sluice parser exactly",
    current,
    async () => {
      const events = server.client.events("/data");
      const received = await within(events.take(datas.length), "the data events");
      await events.close();
      assert.deepEqual(
        received.map((event) => event.data),
        expected,
      );
    },
  );

  hostileCase(
    "data with CR, LF, CRLF and NUL reaches the eventsource package exactly",
    current,
    async () => {
      const source = new EventSource(`${server.client.url}/data`);
      const received: string[] = [];
      try {
        await within(
          new Promise<void>((resolve) => {
            source.onmessage = (message) => {
              received.push(message.data);
              if (received.length === datas.length) resolve();
            };
          }),
          "the data events through EventSource",
        );
      } finally {
        source.close();
      }
      assert.deepEqual(received, expected);
    },
  );

  /** The whole SSE response of `path`, on a connection the server closes at the end. */
  async function wholeStream(path: string): Promise<{ answer: RawAnswer; requestId: string }> {
    const answer = await sendRaw(
      server.port,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(answer.statusLine, "HTTP/1.1 200 OK");
    assert.equal(answer.closedByServer, true);
    assert.ok(answer.raw.endsWith("\r\n0\r\n\r\n"), "ended cleanly, with the chunked terminator");
    return { answer, requestId: answer.headers["x-request-id"] };
  }

  function producerFailures(requestId: string) {
    return server.lines.filter((line) => line.reqId === requestId && line.level >= 50);
  }

  hostileCase(
    "a handler that yields a bad id mid-stream: what came before is sent, then the stream ends cleanly, logged",
    current,
    async () => {
      const { answer, requestId } = await wholeStream("/bad-mid-stream");
      assert.equal(decodeChunked(answer.raw).body, "data: before\n\n");
      const [failure, ...more] = producerFailures(requestId);
      assert.deepEqual(more, []);
      assert.equal(failure.msg, "stream producer failed; stream ended");
      assert.match(String(failure.err?.message), /^SseEvent id must not contain CR, LF or NUL/);
    },
  );

  hostileCase(
    "with errorEvent, the stream's last event is an `event: error` naming no internals",
    current,
    async () => {
      const { answer, requestId } = await wholeStream("/bad-mid-stream-error-event");
      assert.equal(
        decodeChunked(answer.raw).body,
        `data: before\n\nevent: error\ndata: ${JSON.stringify({ message: "Internal Server Error", requestId })}\n\n`,
      );
      assert.equal(producerFailures(requestId).length, 1);
    },
  );

  parserRefusals(current, [
    {
      name: "a Last-Event-ID with a NUL byte",
      payload: "GET /resume HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\0b\r\n\r\n",
      message: "Parse Error: Invalid header value char",
    },
    {
      name: "a Last-Event-ID with a bare CR",
      payload: "GET /resume HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\rb\r\n\r\n",
      message: "Parse Error: Missing expected LF after header value",
    },
    {
      name: "a Last-Event-ID with a bare LF",
      payload: "GET /resume HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\nb\r\n\r\n",
      message: "Parse Error: Missing expected CR after header value",
    },
  ]);

  test("the only error-level lines are the two failed producers (a programmer's error, not the client's)", () => {
    assert.deepEqual(errorMessages(server.lines), [
      "stream producer failed; stream ended",
      "stream producer failed; stream ended",
    ]);
  });
});
