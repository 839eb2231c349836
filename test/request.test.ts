import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { HttpError, HttpResponse, StreamingResponse } from "../src/index.js";
import { LINGER_MS } from "../src/server/lingering-close.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { portOf, rawExchange } from "./support/raw-http.js";
import { sleep, waitFor } from "./support/wait.js";

function echoApp(options = {}) {
  const app = quietApp(options);
  app.post("/json", async (req) => ({ received: await req.json() }));
  app.post("/text", async (req) => req.text());
  app.post("/bytes", async (req) => {
    const bytes = await req.bytes();
    return { length: bytes.length, again: (await req.bytes()).length };
  });
  app.get("/headers", (req) => ({
    custom: req.header("X-Custom"),
    lower: req.headers["x-custom"],
    method: req.method,
    path: req.path,
    url: req.url,
    ip: req.ip,
  }));
  app.get("/id", (req) => ({ id: req.id }));
  return app;
}

describe("request", () => {
  test("headers are case-insensitive; path, url and method are as received", async () => {
    await using client = await TestClient.start(echoApp());
    const res = await client.get("/headers?x=1", { headers: { "X-Custom": "hello" } });
    assert.deepEqual(res.json(), {
      custom: "hello",
      lower: "hello",
      method: "GET",
      path: "/headers",
      url: "/headers?x=1",
      ip: "127.0.0.1",
    });
  });

  test("json(), text() and bytes() read the body, and reading twice is allowed", async () => {
    await using client = await TestClient.start(echoApp());
    assert.deepEqual((await client.post("/json", { json: { a: [1, 2] } })).json(), {
      received: { a: [1, 2] },
    });
    assert.equal((await client.post("/text", { body: "héllo" })).text(), "héllo");
    assert.deepEqual((await client.post("/bytes", { body: Buffer.alloc(1000, 1) })).json(), {
      length: 1000,
      again: 1000,
    });
  });

  test("malformed JSON is 400 with the parser's reason", async () => {
    await using client = await TestClient.start(echoApp());
    const res = await client.post("/json", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /^Malformed JSON body/);
  });

  test("a JSON body with a __proto__ or constructor.prototype key is 400 by default: merging it cannot poison an object", async () => {
    const app = quietApp();
    // The pattern the refusal protects: a body merged into an object.
    app.post("/merge", async (req) => {
      const user = Object.assign({ name: "guest" }, await req.json());
      return { isAdmin: (user as { isAdmin?: unknown }).isAdmin ?? false };
    });
    await using client = await TestClient.start(app);
    const poisoned = [
      '{"__proto__":{"isAdmin":true}}',
      '{"name":"x","nested":[{"__proto__":{"isAdmin":true}}]}',
      '{"\\u005f_proto__":{"isAdmin":true}}',
      '{"constructor":{"prototype":{"isAdmin":true}}}',
    ];
    for (const body of poisoned) {
      const res = await client.post("/merge", {
        body,
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.statusCode, 400, body);
      assert.match(
        res.json<{ message: string }>().message,
        /^JSON body refused: JSON with a "(__proto__|constructor\.prototype)" key is not accepted$/,
        body,
      );
    }
    // Look-alikes are ordinary JSON.
    for (const body of [
      '{"proto":{"isAdmin":true},"note":"__proto__"}',
      '{"constructor":"Object","prototype":1}',
      '{"constructor":{"name":"x"}}',
      '{"caf\\u00e9":1}',
    ]) {
      const res = await client.post("/merge", {
        body,
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.statusCode, 200, body);
      assert.deepEqual(res.json(), { isAdmin: false }, body);
    }
  });

  test("an empty body where JSON is expected is 400", async () => {
    await using client = await TestClient.start(echoApp());
    const res = await client.post("/json");
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /empty/);
  });

  test("a body over the limit is 413, at once from Content-Length, without reading it", async () => {
    const app = echoApp({ bodyLimit: 1024 });
    await using client = await TestClient.start(app);
    const port = portOf(client.url);
    // Announce 100 MB, send only the head and a few bytes: the answer must not wait for the rest.
    const answer = await rawExchange(
      port,
      "POST /bytes HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 104857600\r\n\r\nabcdef",
    );
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /larger than the limit of 1024 bytes/);
  });

  test("a chunked body that grows past the limit is 413", async () => {
    await using client = await TestClient.start(echoApp({ bodyLimit: 1024 }));
    const res = await client.post("/bytes", {
      body: Buffer.alloc(5000, 7),
      headers: { "transfer-encoding": "chunked" },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json<{ details: { limit: number } }>().details.limit, 1024);
  });

  test("a body at exactly the limit is accepted", async () => {
    await using client = await TestClient.start(echoApp({ bodyLimit: 1024 }));
    const res = await client.post("/bytes", { body: Buffer.alloc(1024) });
    assert.equal(res.json<{ length: number }>().length, 1024);
  });

  test("request ids: generated and unique, a safe incoming one is kept, an unsafe one replaced", async () => {
    await using client = await TestClient.start(echoApp());
    const first = await client.get("/id");
    const second = await client.get("/id");
    assert.equal(first.json<{ id: string }>().id, first.headers["x-request-id"]);
    assert.notEqual(first.headers["x-request-id"], second.headers["x-request-id"]);
    const kept = await client.get("/id", { headers: { "x-request-id": "trace-abc.123" } });
    assert.equal(kept.headers["x-request-id"], "trace-abc.123");
    const replaced = await client.get("/id", { headers: { "x-request-id": "bad id\twith tab" } });
    assert.notEqual(replaced.headers["x-request-id"], "bad id\twith tab");
    const tooLong = await client.get("/id", { headers: { "x-request-id": "a".repeat(200) } });
    assert.notEqual(tooLong.headers["x-request-id"], "a".repeat(200));
  });

  test("a custom request id generator is used", async () => {
    let n = 0;
    await using client = await TestClient.start(
      echoApp({ generateRequestId: () => `custom-${++n}`, requestIdHeader: false }),
    );
    const res = await client.get("/id", { headers: { "x-request-id": "ignored" } });
    assert.equal(res.headers["x-request-id"], "custom-1");
  });
});

describe("bodies in awkward moments", () => {
  test("reading the body after the client already left rejects at once (no hang)", async () => {
    const app = quietApp();
    let outcome = "";
    app.post("/late", async (req) => {
      await sleep(100); // the client leaves meanwhile
      try {
        await req.bytes();
        outcome = "read";
      } catch (error) {
        outcome = (error as Error).message;
      }
    });
    await using client = await TestClient.start(app);
    const socket = connect(portOf(client.url), "127.0.0.1");
    socket.write("POST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
    await sleep(30);
    socket.destroy();
    await waitFor(() => outcome !== "", "the body read to settle", 1000);
    assert.match(outcome, /closed the connection/);
  });

  test("reading the body after answering is a clear error, not an empty body", async () => {
    const app = quietApp();
    let outcome = "";
    app.post("/webhook", (req) => {
      setTimeout(() => {
        req.text().then(
          (text) => {
            outcome = `read ${JSON.stringify(text)}`;
          },
          (error: Error) => {
            outcome = error.message;
          },
        );
      }, 50);
      return HttpResponse.empty(202);
    });
    await using client = await TestClient.start(app);
    assert.equal((await client.post("/webhook", { body: "payload" })).statusCode, 202);
    await waitFor(() => outcome !== "", "the late read to settle");
    assert.match(outcome, /response was already sent/);
  });

  test("a handler that tolerates a 413 does not wedge the keep-alive connection", async () => {
    const app = quietApp({ bodyLimit: 1024 });
    app.post("/lenient", async (req) => ({ parsed: await req.json().catch(() => null) }));
    await using client = await TestClient.start(app);
    const socket = connect(portOf(client.url), "127.0.0.1");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => {
      received += data;
    });
    socket.on("error", () => {});
    socket.write("POST /lenient HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    socket.write(`2000\r\n${"x".repeat(0x2000)}\r\n`);
    await new Promise((resolve) => socket.once("close", resolve));
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.match(received, /connection: close/i);
  });

  test("a client still uploading a large unread body gets the whole answer, then the connection closes", async () => {
    const app = quietApp();
    app.post("/ignore", () => "not reading that");
    await using client = await TestClient.start(app);
    // Like curl: upload until the answer is in, then stop and hang up.
    const upload = await floodingUpload(portOf(client.url), "/ignore", (received) =>
      received.endsWith("not reading that"),
    );
    assert.match(upload.received, /^HTTP\/1\.1 200 /);
    assert.match(upload.received, /connection: close/i);
    assert.ok(upload.received.endsWith("not reading that"), "the body of the answer arrived whole");
    assert.ok(upload.written < 64 * 1024 * 1024, `the client could send ${upload.written} bytes`);
  });

  test("a client that never stops uploading still gets its 413 and is disconnected within the linger time", async () => {
    await using client = await TestClient.start(echoApp({ bodyLimit: 1024 }));
    const started = Date.now();
    // allowHalfOpen: the client keeps writing after the server's FIN, as a careless client would.
    const upload = await floodingUpload(portOf(client.url), "/bytes", () => false, true);
    assert.match(upload.received, /^HTTP\/1\.1 413 /, "the answer is not wiped out by a reset");
    assert.match(upload.received, /larger than the limit of 1024 bytes/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= LINGER_MS - 100, `closed after ${elapsed} ms, before the linger time`);
    assert.ok(elapsed < LINGER_MS + 3000, `closed after ${elapsed} ms`);
  });
});

/**
 * Declares a 256 MiB body and writes 64 KiB blocks as fast as the socket takes them until
 * `stopWhen(received)` holds (then half-closes) or the server closes the connection.
 */
async function floodingUpload(
  port: number,
  path: string,
  stopWhen: (received: string) => boolean,
  allowHalfOpen = false,
): Promise<{ received: string; written: number }> {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen });
  let received = "";
  let written = 0;
  let stopped = false;
  socket.setEncoding("latin1");
  socket.on("data", (data: string) => {
    received += data;
    if (!stopped && stopWhen(received)) {
      stopped = true;
      socket.end();
    }
  });
  socket.on("error", () => {});
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n`);
  const block = Buffer.alloc(64 * 1024);
  const pump = setInterval(() => {
    if (stopped || socket.destroyed || written >= 256 * 1024 * 1024) return;
    socket.write(block);
    written += block.length;
  }, 1);
  await closed;
  clearInterval(pump);
  return { received, written };
}

describe("request ids, configured", () => {
  test("a custom request id header is read and echoed under that name", async () => {
    await using client = await TestClient.start(echoApp({ requestIdHeader: "X-Correlation-Id" }));
    const res = await client.get("/id", { headers: { "x-correlation-id": "corr-1" } });
    assert.equal(res.headers["x-correlation-id"], "corr-1");
    assert.equal(res.json<{ id: string }>().id, "corr-1");
  });

  test("a generateRequestId that throws or returns an unsafe id falls back to a built-in id", async () => {
    let calls = 0;
    const generate = () => {
      calls++;
      if (calls === 1) throw new Error("id service down");
      return "bad\nid";
    };
    await using client = await TestClient.start(echoApp({ generateRequestId: generate }));
    for (let i = 0; i < 2; i++) {
      const res = await client.get("/id");
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["x-request-id"]), /^[\w.:@-]+$/);
    }
  });
});

describe("malformed requests and slow clients", () => {
  test("a client that leaves mid-body: the body read rejects with 400, the server goes on", async () => {
    const app = quietApp();
    let seen: unknown;
    app.post("/upload", async (req) => {
      try {
        return await req.bytes();
      } catch (error) {
        seen = error;
        throw error;
      }
    });
    app.get("/ok", () => "ok");
    await using client = await TestClient.start(app);
    const socket = connect(portOf(client.url), "127.0.0.1");
    socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
    await sleep(50);
    socket.destroy();
    await waitFor(() => seen !== undefined, "the body read to fail");
    assert.ok(seen instanceof HttpError);
    assert.equal(seen.status, 400);
    assert.match(seen.message, /closed the connection/);
    assert.equal((await client.get("/ok")).text(), "ok");
  });

  test("a malformed request line gets 400 and the server keeps serving", async () => {
    await using client = await TestClient.start(echoApp());
    const port = portOf(client.url);
    const answer = await rawExchange(port, "GARBAGE\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request/);
    assert.equal((await client.get("/id")).statusCode, 200);
  });

  test("garbage pipelined behind a streaming response cuts it, and never lands inside its body", async () => {
    const app = quietApp();
    app.get(
      "/ticks",
      (req) =>
        new StreamingResponse(
          (async function* () {
            for (let i = 0; !req.signal.aborted; i++) {
              yield `tick ${i}\n`;
              await sleep(10);
            }
          })(),
        ),
    );
    await using client = await TestClient.start(app);
    const answer = await rawExchange(
      portOf(client.url),
      "GET /ticks HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n",
    );
    // The garbage is parsed in the same read as the request, before the stream's head goes
    // out (the producer gets a macrotask to refuse first): the connection may be cut before
    // the head or after part of the body, but no 400 may ever land in the stream.
    if (answer !== "") assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(answer, /400 Bad Request/);
  });

  test("oversized request headers get 431", async () => {
    await using client = await TestClient.start(echoApp({ maxHeaderSize: 1024 }));
    const port = portOf(client.url);
    const answer = await rawExchange(
      port,
      `GET /id HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(4000)}\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 431 /);
  });

  test("a client that never finishes its headers (slowloris) is dropped after headersTimeout", async () => {
    await using client = await TestClient.start(echoApp({ headersTimeout: 300 }));
    const port = portOf(client.url);
    const started = performance.now();
    const answer = await rawExchange(port, "GET /id HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const elapsed = performance.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(elapsed < 3000, `dropped after ${elapsed} ms`);
    assert.equal((await client.get("/id")).statusCode, 200);
  });
  test('req.json({ protoKeys: "remove" }) drops the keys; "keep" keeps them', async () => {
    const app = quietApp();
    app.post("/remove", async (req) => ({ received: await req.json({ protoKeys: "remove" }) }));
    app.post("/keep", async (req) => {
      const merged = Object.assign({}, await req.json({ protoKeys: "keep" })) as {
        isAdmin?: boolean;
      };
      return { isAdmin: merged.isAdmin ?? false };
    });
    app.post("/bad-option", async (req) => req.json({ protoKeys: "nope" as "keep" }));
    await using client = await TestClient.start(app);
    const body = '{"a":1,"__proto__":{"isAdmin":true}}';
    const headers = { "content-type": "application/json" };
    assert.deepEqual((await client.post("/remove", { body, headers })).json(), {
      received: { a: 1 },
    });
    assert.deepEqual((await client.post("/keep", { body, headers })).json(), { isAdmin: true });
    assert.equal((await client.post("/bad-option", { body, headers })).statusCode, 500);
  });
});
