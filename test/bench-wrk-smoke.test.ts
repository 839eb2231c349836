/*
 * The JSON scenario of `npm run bench` is loaded by wrk (bench/lib/wrk-load.ts): it must keep
 * counting responses from wrk's report, and must fail a run where the server answers errors
 * rather than count them. wrk is installed by the bench itself when missing (as root, from
 * Debian); elsewhere this is skipped, saying so. No figure is asserted.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { ensureWrk, parseWrk, runWrkLoad } from "../bench/lib/wrk-load.js";

const canInstall = existsSync("/usr/bin/wrk") || process.getuid?.() === 0;

describe("the JSON scenario's wrk loader", {
  skip: canInstall ? false : "wrk is not installed: apt-get install -y wrk",
}, () => {
  let server: Server;
  let port: number;
  let answered = 0;

  before(async () => {
    ensureWrk();
    server = createServer((request, response) => {
      answered++;
      if (request.url === "/fail") response.writeHead(500).end("no");
      else response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("counts the responses of the measured run, with the server's CPU", async () => {
    const before = answered;
    const result = await runWrkLoad({
      port,
      pid: process.pid,
      path: "/json",
      connections: 4,
      warmupMs: 1000,
      durationMs: 1000,
    });
    assert.ok(result.responses > 0, "wrk counted responses");
    // The warm-up run's responses are not counted: fewer than the server answered in all.
    assert.ok(result.responses < answered - before, `${result.responses} of ${answered - before}`);
    assert.ok(result.window.serverCpuMicros > 0 && result.window.wallMicros > 900_000);
  });

  test("a run whose answers are errors fails, naming them", async () => {
    await assert.rejects(
      runWrkLoad({
        port,
        pid: process.pid,
        path: "/fail",
        connections: 2,
        warmupMs: 1000,
        durationMs: 1000,
      }),
      /Non-2xx or 3xx responses/,
    );
  });
});

test("parseWrk reads the request count and refuses a report with socket errors", () => {
  const report = [
    "Running 1s test @ http://127.0.0.1:1/json",
    "  1 threads and 4 connections",
    "  12345 requests in 1.00s, 1.50MB read",
    "Requests/sec:  12340.00",
  ].join("\n");
  assert.equal(parseWrk(report), 12345);
  assert.throws(
    () => parseWrk(`${report}\n  Socket errors: connect 0, read 3, write 0, timeout 0`),
    /failed requests/,
  );
  assert.throws(() => parseWrk("nothing here"), /no request count/);
});
