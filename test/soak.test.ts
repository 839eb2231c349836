// The short soak CI runs: the churn of soak/ (every kind of long-lived client, connecting,
// receiving, holding and leaving cleanly or abruptly) against the soak server in its own
// process, then the server must be back where it started: no connection, subscriber,
// producer, handle, timer or listener left over, nothing logged, memory within tolerance.
// `npm run soak` (soak/run.ts) is the long version.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { CLIENT_KINDS, LEAVE_MODES } from "../soak/clients.js";
import { renderReport } from "../soak/report.js";
import { DEFAULT_TOLERANCES, runSoak, type SoakReport } from "../soak/soak.js";

const CLIENTS = 400;
const CONCURRENCY = 100;

describe("soak with churn (short)", { timeout: 90_000 }, () => {
  let report: SoakReport;
  /** The whole table, so that a failure shows everything that was measured. */
  let table: string;

  before(async () => {
    report = await runSoak({
      clients: CLIENTS,
      concurrency: CONCURRENCY,
      durationMs: 30_000,
      holdMs: { min: 100, max: 1500 },
      rampMs: 1000,
      firstMessageTimeoutMs: 15_000,
      seed: 7,
      warmUpClients: 100,
      settleTimeoutMs: 15_000,
      tolerances: DEFAULT_TOLERANCES,
    });
    table = renderReport(report);
  });

  test("every client connected, got its first message and left, without an error", () => {
    const { churn, warmUp } = report;
    assert.equal(warmUp.failureCount, 0, table);
    assert.equal(churn.failureCount, 0, table);
    assert.equal(churn.started, CLIENTS, table);
    assert.equal(churn.finished, CLIENTS, table);
  });

  test("the churn was real: every kind and way of leaving, many connections held at once", () => {
    const { churn } = report;
    for (const kind of CLIENT_KINDS) assert.ok((churn.byKind[kind] ?? 0) > 20, `${kind}\n${table}`);
    for (const leave of LEAVE_MODES) assert.ok(churn.byLeave[leave] > 50, `${leave}\n${table}`);
    assert.ok(churn.opened > CLIENTS * 0.8, table);
    assert.ok(churn.peakHeld >= CONCURRENCY / 2, table);
    assert.ok(report.serverPeakHeld > 0, table);
  });

  test("no connection, topic subscriber, producer or handler is left on the server", () => {
    const { baseline, after } = report;
    assert.deepEqual(after.connections, { websocket: 0, sse: 0 }, table);
    assert.equal(after.topicSubscribers, 0, table);
    assert.equal(after.serverConnections, baseline.serverConnections, table);
    assert.ok(after.producers.started > baseline.producers.started, table);
    assert.equal(after.producers.finished, after.producers.started, table);
    assert.ok(after.websocketHandlers.started > baseline.websocketHandlers.started, table);
    assert.equal(after.websocketHandlers.finished, after.websocketHandlers.started, table);
  });

  test("active handles and timers, and the server's listeners, are back to the baseline", () => {
    const { baseline, after } = report;
    assert.deepEqual(after.resources, baseline.resources, table);
    assert.deepEqual(after.listeners, baseline.listeners, table);
  });

  test("the app logged no warning and no error", () => {
    assert.deepEqual(report.after.logged, report.baseline.logged, table);
  });

  test("RSS and heapUsed (after GC) came back within tolerance", () => {
    const { baseline, after } = report;
    const rssLimit =
      baseline.rss +
      Math.max(DEFAULT_TOLERANCES.rssBytes, baseline.rss * DEFAULT_TOLERANCES.rssFraction);
    assert.ok(after.rss <= rssLimit, table);
    assert.ok(after.heapUsed <= baseline.heapUsed + DEFAULT_TOLERANCES.heapBytes, table);
  });

  test("the soak's own verdict agrees", () => {
    assert.equal(report.ok, true, table);
    assert.ok(report.checks.length > 15, table);
  });
});

describe("the same checks on a server that leaks on purpose", { timeout: 60_000 }, () => {
  test("catch the leaked timers, subscribers, listeners and heap", async () => {
    // Each WebSocket leaks a timer, a topic subscriber, a 'close' listener on the server and
    // 256 KiB of heap (SOAK_INJECT_LEAK in soak/server.ts); nothing else changes.
    const report = await runSoak({
      clients: 160,
      concurrency: 40,
      durationMs: 20_000,
      holdMs: { min: 50, max: 300 },
      rampMs: 200,
      firstMessageTimeoutMs: 15_000,
      seed: 3,
      warmUpClients: 20,
      settleTimeoutMs: 1500, // it never settles: no need to wait long
      tolerances: DEFAULT_TOLERANCES,
      serverEnv: { SOAK_INJECT_LEAK: "1" },
    });
    const table = renderReport(report);
    const failed = new Set(report.checks.filter((check) => !check.ok).map((check) => check.name));
    assert.equal(report.ok, false, table);
    for (const name of [
      "app.topicSubscribers",
      "active resources: Timeout",
      "server listeners: close",
      "heapUsed",
    ]) {
      assert.ok(failed.has(name), `${name} should have failed\n${table}`);
    }
    assert.equal(report.churn.failureCount, 0, table);
  });
});
