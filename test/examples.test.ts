import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { createJsonApp } from "../examples/json-route.js";
import { createExportApp } from "../examples/ndjson-export.js";
import { createTextStreamApp } from "../examples/streaming-text.js";
import { TestClient } from "../src/testing/index.js";
import { eventually, quietApp, waitFor } from "./helpers.js";

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

describe("npm start (examples/start.ts)", () => {
  test("serves the index and the three patterns", async (t) => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/start.ts"], {
      env: { ...process.env, PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    t.after(() => child.kill("SIGTERM"));
    let output = "";
    child.stdout.on("data", (data) => {
      output += data;
    });
    await waitFor(() => output.includes('"listening"'), "the demo to listen", 10_000);
    const url = JSON.parse(
      output.split("\n").find((line) => line.includes('"listening"')) ?? "{}",
    ).url;
    const index = await fetch(`${url}/`);
    assert.match(await index.text(), /curl -N/);
    assert.equal((await fetch(`${url}/todos`)).status, 200);
    const rows = (await (await fetch(`${url}/export.ndjson?rows=3`)).text()).trim().split("\n");
    assert.equal(rows.length, 3);
    const generation = await fetch(`${url}/generate?prompt=x`);
    assert.match(await generation.text(), /stop when the reader leaves\./);
  });
});
