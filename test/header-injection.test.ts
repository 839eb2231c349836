import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpError, HttpResponse, StreamingResponse } from "../src/index.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { capturedLogger } from "./support/logging.js";
import { portOf, rawExchange } from "./support/raw-http.js";

/** A value that would add a header of its own if Node wrote it out. */
const INJECTION = "ok\r\nSet-Cookie: injected=1";
const MARKER = "injected";

/**
 * An app whose every route sets the header `x-bad` to INJECTION in one way (see the paths),
 * and whose log lines are kept.
 */
function injectingApp() {
  const { logger, lines } = capturedLogger();
  const app = quietApp({ logger });
  app.use((req, next) => {
    if (req.path === "/middleware") req.responseHeaders["x-bad"] = INJECTION;
    return next();
  });
  app.get("/middleware", () => "hello");
  app.get("/plain", (req) => {
    req.setResponseHeader("x-bad", INJECTION);
    return { hello: "world" };
  });
  app.get(
    "/http-response",
    () => new HttpResponse("made", { statusCode: 201, headers: { "x-bad": INJECTION } }),
  );
  app.get("/http-error", () => {
    throw new HttpError(401, "who are you", undefined, { headers: { "x-bad": INJECTION } });
  });
  let streamFinished = false;
  app.get(
    "/stream",
    () =>
      new StreamingResponse(
        (async function* () {
          try {
            yield "never sent";
          } finally {
            streamFinished = true;
          }
        })(),
        { headers: { "x-bad": INJECTION } },
      ),
  );
  return { app, lines, streamFinished: () => streamFinished };
}

const PATHS = ["/plain", "/http-response", "/middleware", "/stream", "/http-error"];

describe("a response header with CR/LF in its value", () => {
  for (const path of PATHS) {
    test(`${path}: the status line is "HTTP/1.1 500 Internal Server Error", nothing is injected, the header is logged by name`, async () => {
      const { app, lines } = injectingApp();
      await using client = await TestClient.start(app);
      const answer = await rawExchange(
        portOf(client.url),
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      const [head, body] = answer.split("\r\n\r\n");
      const [statusLine, ...headerLines] = head.split("\r\n");
      assert.equal(statusLine, "HTTP/1.1 500 Internal Server Error", answer);
      assert.equal(answer.includes(MARKER), false, answer);
      assert.equal(
        headerLines.some((line) => /^x-bad:/i.test(line)),
        false,
        answer,
      );
      const requestId = headerLines.find((line) => line.startsWith("x-request-id: "))?.slice(14);
      assert.deepEqual(JSON.parse(body), {
        error: "Internal Server Error",
        message: "Internal Server Error",
        requestId,
      });
      const named = lines.filter((line) => line.header === "x-bad");
      assert.equal(named.length, 1, JSON.stringify(lines));
      assert.equal(named[0].level, 50);
      assert.equal(named[0].reqId, requestId);
      assert.equal(JSON.stringify(lines).includes(MARKER), false, "the value is never logged");
    });
  }

  test("the producer of a refused stream is cancelled, and the connection stays usable", async () => {
    const { app, streamFinished } = injectingApp();
    await using client = await TestClient.start(app);
    const port = portOf(client.url);
    const twoRequests =
      "GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /middleware HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const answer = await rawExchange(port, twoRequests);
    const statusLines = answer.match(/HTTP\/1\.1 \d{3} [^\r]*/g);
    assert.deepEqual(statusLines, [
      "HTTP/1.1 500 Internal Server Error",
      "HTTP/1.1 500 Internal Server Error",
    ]);
    assert.equal(streamFinished(), true);
  });
});
