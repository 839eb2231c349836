// Testing streaming, SSE and WebSocket handlers with TestClient: the app listens on a real
// socket on 127.0.0.1 (an ephemeral port), and the client speaks real HTTP and WebSocket.
// Run it: `node --import tsx --test examples/guide/testing.test.ts`. Each test has a timeout:
// one that waits for an event that never comes fails instead of hanging.
import assert from "node:assert/strict";
import { test } from "node:test";
import { App } from "sluice";
import { TestClient, WebSocketUpgradeError } from "sluice/testing";
import { createStreamingApp } from "./streaming-response.js";
import { createRoomsApp } from "./topics.js";
import { createWebSocketApp } from "./websocket-lifecycle.js";

test("the countdown streams line by line", { timeout: 5000 }, async () => {
  await using client = await TestClient.start(
    createStreamingApp(new App({ logger: false }), { delayMs: 20 }),
  );
  const stream = await client.stream("GET", "/countdown?from=2"); // resolves at the head
  assert.equal(stream.statusCode, 200);
  const lines: string[] = [];
  for await (const line of stream.lines()) lines.push(line);
  assert.deepEqual(lines, ["2...", "1...", "liftoff!"]);
  assert.equal(stream.complete, true); // ended with the chunked terminator, not cut short
});

test("an SSE client that reconnects gets what it missed", { timeout: 5000 }, async () => {
  await using client = await TestClient.start(createRoomsApp(new App({ logger: false })));
  const post = (text: string) => client.post("/rooms/lobby/messages", { json: { text } });

  const live = client.events("/rooms/lobby/events");
  assert.equal((await live.response).headers["content-type"], "text/event-stream; charset=utf-8");
  await post("first");
  const [first] = await live.take(1);
  assert.equal(first.event, "message");
  assert.equal(JSON.parse(first.data).text, "first");
  await live.close(); // the client goes away...

  await post("while away"); // ...misses this one...
  const again = client.events("/rooms/lobby/events", { headers: { "Last-Event-ID": first.id } });
  const [missed] = await again.take(1); // ...and gets it on reconnecting
  assert.equal(JSON.parse(missed.data).text, "while away");
});

test("the WebSocket route refuses strangers and answers commands", { timeout: 5000 }, async () => {
  await using client = await TestClient.start(createWebSocketApp(new App({ logger: false })));
  await assert.rejects(client.websocketConnect("/live?token=wrong"), (error) => {
    assert.ok(error instanceof WebSocketUpgradeError);
    assert.equal(error.statusCode, 401);
    return true;
  });

  const ws = await client.websocketConnect("/live", {
    headers: { authorization: "Bearer token-ada" },
  });
  assert.deepEqual(await ws.receiveJson(), { type: "welcome", user: "ada" });
  await ws.sendJson({ type: "say", text: "hi" });
  assert.deepEqual(await ws.receiveJson(), { type: "said", user: "ada", text: "hi" });
  await ws.sendJson({ type: "bye" });
  assert.deepEqual(await ws.closed, { code: 1000, reason: "" }); // the handler returned
});
