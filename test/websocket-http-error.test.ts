// An HttpError thrown by a WebSocket handler after the upgrade is a refusal, not a crash: the
// socket closes with 4000 + its status and its message as the reason, logged without a stack.
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { App, HttpError } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { capturedLogger, type LogLine } from "./support/logging.js";
import { waitFor, within } from "./support/wait.js";

/** A real `ws` client to `path`: resolves with the close code and reason it got. */
async function closeOf(
  client: TestClient,
  path: string,
): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(`${client.url.replace(/^http/, "ws")}${path}`);
  const [code, reason] = (await within(once(ws, "close"), `the close of ${path}`)) as [
    number,
    Buffer,
  ];
  return { code, reason: reason.toString("utf8") };
}

function handlerLines(lines: LogLine[]): LogLine[] {
  return lines.filter((line) => line.msg.startsWith("WebSocket handler"));
}

describe("an HttpError thrown by a WebSocket handler", () => {
  test("403 closes with 4403 and its message, logged at info without a stack", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/admin", async () => {
      throw new HttpError(403, "Admins only");
    });
    await using client = await TestClient.start(app);
    assert.deepEqual(await closeOf(client, "/admin"), { code: 4403, reason: "Admins only" });
    await waitFor(() => handlerLines(lines).length > 0, "the handler's log line");
    const [line, ...more] = handlerLines(lines);
    assert.equal(more.length, 0, JSON.stringify(more));
    assert.equal(line.level, 30, "info");
    assert.equal(line.msg, "WebSocket handler refused with HttpError 403; socket closed with 4403");
    assert.equal(line.status, 403);
    assert.equal(line.code, 4403);
    assert.equal(line.reason, "Admins only");
    assert.equal(line.err, undefined, "no error object, so no stack");
    assert.ok(line.reqId, "with the request id");
    assert.doesNotMatch(JSON.stringify(line), /\bat .*\.ts:\d+/, "no stack trace");
  });

  test("the status picks the code: 401 -> 4401, 429 -> 4429, 503 -> 4503 (a 5xx logged at warn)", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/status/:status", async (socket) => {
      throw new HttpError(
        Number(socket.request.params.status),
        `status ${socket.request.params.status}`,
      );
    });
    // Thrown synchronously, before the handler's first await: the same close.
    app.websocket("/sync", () => {
      throw new HttpError(401, "Sign in first");
    });
    await using client = await TestClient.start(app);
    for (const status of [401, 429, 503]) {
      assert.deepEqual(await closeOf(client, `/status/${status}`), {
        code: 4000 + status,
        reason: `status ${status}`,
      });
    }
    assert.deepEqual(await closeOf(client, "/sync"), { code: 4401, reason: "Sign in first" });
    await waitFor(() => handlerLines(lines).length === 4, "four log lines");
    const levels = handlerLines(lines).map((line) => [line.status, line.level]);
    assert.deepEqual(levels.sort(), [
      [401, 30],
      [401, 30],
      [429, 30],
      [503, 40],
    ]);
  });

  test("a message longer than a close reason may be is cut at 123 bytes, on a character boundary", async () => {
    const app = new App({ logger: false });
    // 40 three-byte characters (120 bytes), then a four-byte one that would end at byte 124.
    const long = `${"€".repeat(40)}😀 and more`;
    app.websocket("/long", async () => {
      throw new HttpError(429, long);
    });
    app.websocket("/ascii", async () => {
      throw new HttpError(400, "x".repeat(200));
    });
    await using client = await TestClient.start(app);
    const cut = await closeOf(client, "/long");
    assert.equal(cut.code, 4429);
    assert.equal(cut.reason, "€".repeat(40), "the emoji that did not fit is left out whole");
    assert.equal(Buffer.byteLength(cut.reason), 120);
    const ascii = await closeOf(client, "/ascii");
    assert.deepEqual(ascii, { code: 4400, reason: "x".repeat(123) });
  });

  test("anything else is still a crash: 1011 'Internal error', logged as an error with its stack", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/bug", async () => {
      throw new Error("not a refusal");
    });
    await using client = await TestClient.start(app);
    assert.deepEqual(await closeOf(client, "/bug"), { code: 1011, reason: "Internal error" });
    await waitFor(() => handlerLines(lines).length > 0, "the handler's log line");
    const [line] = handlerLines(lines);
    assert.equal(line.level, 50);
    assert.equal(line.err?.message, "not a refusal");
    assert.match(String((line.err as { stack?: string }).stack), /not a refusal\n\s+at /);
  });

  test("an HttpError thrown after the peer closed keeps the peer's close, logged at info", async () => {
    const { logger, lines } = capturedLogger();
    const app = new App({ logger });
    app.websocket("/late", async (socket) => {
      await socket.closed;
      throw new HttpError(409, "too late");
    });
    await using client = await TestClient.start(app);
    const ws = await client.websocketConnect("/late");
    await ws.close(4000, "bye");
    assert.deepEqual(await ws.closed, { code: 4000, reason: "bye" });
    await waitFor(() => handlerLines(lines).length > 0, "the handler's log line");
    const [line] = handlerLines(lines);
    assert.equal(line.level, 30);
    assert.equal(line.msg, "WebSocket handler refused with HttpError 409 after its socket closed");
  });
});
