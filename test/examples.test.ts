import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createJsonApp } from "../examples/json-route.js";
import { createExportApp } from "../examples/ndjson-export.js";
import { createFeedApp } from "../examples/sse-feed.js";
import { createTextStreamApp } from "../examples/streaming-text.js";
import { createChatApp } from "../examples/websocket-chat.js";
import { TestClient } from "../src/testing/index.js";
import { quietApp } from "./support/apps.js";
import { startExample } from "./support/example-process.js";
import { eventually } from "./support/wait.js";

describe("examples/json-route.ts", () => {
  test("lists, reads, creates with auth, validates", async () => {
    await using client = await TestClient.start(createJsonApp(quietApp()));
    assert.equal((await client.get("/todos")).json<unknown[]>().length, 1);
    assert.deepEqual((await client.get("/todos?done=true")).json(), []);
    assert.equal((await client.get("/todos/99")).statusCode, 404);
    assert.equal((await client.post("/todos", { json: { title: "x" } })).statusCode, 401);
    const auth = { authorization: "Bearer demo" };
    assert.equal(
      (await client.post("/todos", { json: { title: "" }, headers: auth })).statusCode,
      422,
    );
    const created = await client.post("/todos", { json: { title: "write docs" }, headers: auth });
    assert.equal(created.statusCode, 201);
    assert.equal(created.headers.location, "/todos/2");
    assert.deepEqual((await client.get("/todos/2")).json(), {
      id: 2,
      title: "write docs",
      done: false,
    });
  });
});

describe("examples/ndjson-export.ts", () => {
  test("streams the requested rows as NDJSON", async () => {
    await using client = await TestClient.start(createExportApp(quietApp()));
    const stream = await client.stream("GET", "/export.ndjson?rows=2500");
    assert.equal(stream.headers["content-type"], "application/x-ndjson; charset=utf-8");
    let count = 0;
    for await (const line of stream.lines()) {
      assert.equal(JSON.parse(line).id, count);
      count++;
    }
    assert.equal(count, 2500);
  });
});

describe("examples/streaming-text.ts", () => {
  test("words arrive one by one, and leaving cancels the generation", async () => {
    await using client = await TestClient.start(createTextStreamApp(quietApp(), 20));
    const stream = await client.stream("GET", "/generate?prompt=hi");
    const chunks = stream.chunks();
    assert.match(String((await chunks.next()).value), /^> hi\n/);
    assert.doesNotMatch(
      String((await chunks.next()).value),
      /leaves/,
      "the answer is not sent at once",
    );
    assert.deepEqual((await client.get("/generations/active")).json(), { active: 1 });
    await stream.close();
    const activeCount = async () =>
      (await client.get("/generations/active")).json<{ active: number }>().active;
    await eventually(
      async () => (await activeCount()) === 0,
      "the generation to be cancelled",
      1000,
    );
  });
});

describe("examples/sse-feed.ts", () => {
  test("live posts reach open streams; a reconnect with Last-Event-ID gets only what it missed", async () => {
    await using client = await TestClient.start(createFeedApp(quietApp()));
    const live = client.events("/feed");
    await live.response;
    const post = (text: string) => client.post("/feed", { json: { text } });
    assert.equal((await post("one")).statusCode, 201);
    assert.deepEqual((await post("two")).json(), { id: 2 });
    const [first, second] = await live.take(2);
    assert.equal(first.event, "post");
    assert.equal(first.id, "1");
    assert.equal(JSON.parse(first.data).text, "one");
    assert.equal(second.id, "2");
    await live.close();
    await post("three");
    const resumed = client.events("/feed", { headers: { "Last-Event-ID": "2" } });
    const [missed] = await resumed.take(1);
    assert.equal(missed.id, "3");
    assert.equal(JSON.parse(missed.data).text, "three");
    await post("four");
    assert.equal((await resumed.take(1))[0].id, "4");
    assert.equal((await post("")).statusCode, 422);
  });
});

describe("examples/websocket-chat.ts", () => {
  test("the echo answers pings and invalid JSON; the chat room reaches every member", async () => {
    await using client = await TestClient.start(createChatApp(quietApp()));
    const echo = await client.websocketConnect("/ws");
    assert.equal((await echo.receiveJson<{ type: string }>())?.type, "welcome");
    await echo.sendJson({ type: "ping" });
    assert.deepEqual(await echo.receiveJson(), { type: "pong" });
    await echo.send("{oops");
    assert.deepEqual(await echo.receiveJson(), { type: "error", message: "Invalid JSON" });

    const ada = await client.websocketConnect("/chat?name=ada");
    assert.deepEqual(await ada.receiveJson(), { type: "joined", name: "ada", members: 1 });
    const bob = await client.websocketConnect("/chat?name=bob");
    for (const member of [ada, bob]) {
      assert.deepEqual(await member.receiveJson(), { type: "joined", name: "bob", members: 2 });
    }
    await bob.send("hi all");
    for (const member of [ada, bob]) {
      assert.deepEqual(await member.receiveJson(), {
        type: "message",
        name: "bob",
        text: "hi all",
      });
    }
    await bob.send(Buffer.from([1]));
    assert.deepEqual(await bob.receiveJson(), { type: "error", message: "Send text" });
    await bob.close();
    assert.deepEqual(await ada.receiveJson(), { type: "left", name: "bob", members: 1 });
  });
});

describe("npm start (examples/start.ts)", () => {
  test("serves the index and every pattern", async (t) => {
    const { url } = await startExample(t, "examples/start.ts", { LOG_LEVEL: "info" });
    const index = await fetch(`${url}/`);
    assert.match(await index.text(), /curl -N/);
    assert.equal((await fetch(`${url}/todos`)).status, 200);
    const rows = (await (await fetch(`${url}/export.ndjson?rows=3`)).text()).trim().split("\n");
    assert.equal(rows.length, 3);
    const generation = await fetch(`${url}/generate?prompt=x`);
    assert.match(await generation.text(), /stop when the reader leaves\./);
    const feed = await fetch(`${url}/feed`, {
      headers: { "last-event-id": "0" },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(feed.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const posted = await fetch(`${url}/feed`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer demo" },
      body: JSON.stringify({ text: "hi" }),
    });
    assert.equal(posted.status, 201);
    const reader = feed.body?.getReader();
    let received = "";
    while (!received.includes('"text":"hi"')) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      received += new TextDecoder().decode(chunk.value);
    }
    assert.match(received, /^retry: 2000\n\nevent: post\nid: 1\ndata: \{"text":"hi"/);
    await reader?.cancel();
    const { WebSocket } = await import("undici");
    const socket = new WebSocket(`${url.replace("http", "ws")}/ws`);
    const welcome = await new Promise<string>((resolve, reject) => {
      socket.addEventListener("message", (event) => resolve(String(event.data)), { once: true });
      socket.addEventListener("error", () => reject(new Error("the demo refused the WebSocket")));
    });
    assert.match(welcome, /"type":"welcome"/);
    socket.close();
  });
});
