/*
 * The floor servers of `npm run bench` (bench/servers/floor.ts: not a framework, the limit of
 * what Node can do) must serve the same bytes as every other server: a short check of each,
 * floor and floor+cork, with the benchmark's own sanity checks (every SSE and WebSocket
 * subscriber receives every published event exactly once, in order, at a fixed rate in bursts
 * and as fast as delivered; the echo sends back each message as it came; the server lets go
 * of every client that leaves), a few idle connections opened and closed as scenario (e)
 * does, and bad requests answered with a status, not a crash. No timing is asserted. Then the
 * report's sluice / floor ratios, from made-up medians.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runIdleLoad } from "../bench/lib/idle-load.js";
import { FLOOR, PEERS, type RunningPeer, SLUICE, startPeer } from "../bench/lib/peers.js";
import { waitForSubscribers } from "../bench/lib/publisher-control.js";
import { renderReport } from "../bench/lib/report.js";
import { checkSse, checkWebSocket } from "../bench/lib/sanity.js";
import type { ScenarioResult } from "../bench/lib/scenario.js";
import { plainWebSocket } from "../bench/lib/ws-dialect.js";
import { rawExchange } from "./support/raw-http.js";

const FLOORS = PEERS.filter((peer) => peer.floor);
const HANDSHAKE_HEADERS =
  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";

/** The status line of a raw answer. */
function statusLine(answer: string): string {
  return answer.slice(0, answer.indexOf("\r\n"));
}

test("both floor servers are registered, floor+cork as floor.ts with BENCH_FLOOR_CORK=1", () => {
  assert.deepEqual(
    FLOORS.map((peer) => [peer.name, peer.script, peer.env?.BENCH_FLOOR_CORK]),
    [
      [FLOOR, "floor.ts", undefined],
      ["floor+cork", "floor.ts", "1"],
    ],
  );
});

for (const peer of FLOORS) {
  // A server that stops delivering must fail the test, not hang it.
  describe(`bench server ${peer.name}`, { timeout: 60_000 }, () => {
    let running: RunningPeer;
    before(async () => {
      // --expose-gc, as scenario (e) starts it: its RSS readings ask for a GC with SIGUSR2.
      running = await startPeer(peer, ["--expose-gc"], {});
    });
    after(() => running.server.stop());

    test("every SSE subscriber gets every event once, at a fixed rate and as fast as delivered", async () => {
      const { port } = running.server;
      await checkSse(peer.name, port, { saturate: false, topics: false });
      await checkSse(peer.name, port, { saturate: true, topics: false });
    });

    test("every WebSocket subscriber gets every message once, in bursts and as fast as delivered; echo sends back what came", async () => {
      const { port } = running.server;
      const options = { echo: "bytes", broadcast: true, topics: false } as const;
      await checkWebSocket(peer.name, port, { ...options, saturate: false });
      await checkWebSocket(peer.name, port, { ...options, saturate: true });
    });

    test("idle SSE and WebSocket connections are counted while open and let go of once closed", async () => {
      const { port, pid } = running.server;
      for (const kind of ["sse", "ws"] as const) {
        const options = { port, pid, connections: 50, kind, dialect: plainWebSocket, settleMs: 0 };
        const result = await runIdleLoad(options);
        assert.ok(result.after > 0, `${kind}: RSS read`);
      }
    });

    test("a bad request is answered with a status and the server keeps serving", async () => {
      const { port } = running.server;
      const ask = (request: string) =>
        rawExchange(port, request, (got) => got.includes("\r\n\r\n"));
      assert.equal(
        statusLine(await ask("GET /nowhere HTTP/1.1\r\n\r\n")),
        "HTTP/1.1 404 Not Found",
      );
      assert.equal(statusLine(await ask("hello\r\n\r\n")), "HTTP/1.1 400 Bad Request");
      const noKey = `GET /ws/broadcast HTTP/1.1\r\n${HANDSHAKE_HEADERS}\r\n`;
      assert.equal(statusLine(await rawExchange(port, noKey)), "HTTP/1.1 400 Bad Request");
      const endless = `GET /sse HTTP/1.1\r\nX-Long: ${"a".repeat(10_000)}`;
      assert.equal(
        statusLine(await rawExchange(port, endless)),
        "HTTP/1.1 431 Request Header Fields Too Large",
      );
      const valid = `GET /ws/echo HTTP/1.1\r\n${HANDSHAKE_HEADERS}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
      const answer = await ask(valid);
      assert.equal(statusLine(answer), "HTTP/1.1 101 Switching Protocols");
      // RFC 6455's own example key and accept value.
      assert.match(answer, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
      await waitForSubscribers(port, "/ws", 0);
      await waitForSubscribers(port, "/sse", 0);
    });
  });
}

describe("the report's sluice / floor", () => {
  const median = (cpu: number, rate: number) => ({ "server CPU µs/event": cpu, "events/s": rate });
  const result = (label: string, cpu: number, rate: number) => ({
    label,
    samples: [median(cpu, rate)],
    median: median(cpu, rate),
  });
  const scenario: ScenarioResult = {
    id: "a",
    title: "SSE fan-out",
    headline: "events/s",
    metrics: [
      { key: "events/s", better: "higher" },
      { key: "server CPU µs/event", better: "lower" },
    ],
    main: { key: "server CPU µs/event", better: "lower" },
    results: [
      result("node:http", 10, 1000),
      result(SLUICE, 3, 990),
      result("floor", 4, 1000),
      result("floor+cork", 2, 500),
    ],
  };
  const context = { mode: "test", pinned: false, node: "v20", cpu: "cpu", memory: "1 GiB" };
  const report = renderReport([scenario], { ...context, date: "today", command: "test" });

  test("the summary divides sluice's main metric by the better floor's, and names it", () => {
    assert.match(
      report,
      /\| scenario \| metric \| node:http \| sluice \| floor \| floor\+cork \| sluice \/ floor \|/,
    );
    assert.match(report, /\| 2\.00 \(0\.20×\) \| 1\.50× \(floor\+cork\) \|\n/);
  });

  test("each scenario's table ends with a sluice / floor row, every metric against that floor", () => {
    assert.match(report, /\| sluice \/ floor\+cork \| 1\.98× \| 1\.50× \| \|\n/);
  });

  test("the floor is explained once, and is not a peer sluice must be ahead of", () => {
    assert.equal(report.split("not a framework, the limit of what Node can do").length, 2);
    assert.match(report, /sluice ahead of every peer \(Fastify, Hono, better-sse, socket\.io\)/);
  });

  test("without a floor server the report has no floor column", () => {
    const without = { ...scenario, results: scenario.results.slice(0, 2) };
    const plain = renderReport([without], { ...context, date: "today", command: "test" });
    assert.doesNotMatch(plain, /floor/);
  });
});
