// The h2 limits and the known HTTP/2 attacks (docs/security.md, "HTTP/2"), over h2 (TLS) and
// h2c. Each attack comes from this process on its own connection, while a well-behaved h2
// client of the same server keeps a request path and an SSE stream going: after it, the
// attacker's connection is refused or closed as Node does it, the other client is still
// served, heapUsed after GC is back near where it was, and nothing crashed.
//
// How each was made: node:http2's client (it honours the server's limits) shows that no more
// than 100 streams are open at once; everything else is written by hand (test/support/
// h2-frames.ts) after the connection preface, because node:http2's client will not send it:
// - streams past SETTINGS_MAX_CONCURRENT_STREAMS, before and after acknowledging it;
// - rapid reset (CVE-2023-44487): HEADERS then RST_STREAM(CANCEL) for thousands of streams
//   in one write;
// - CONTINUATION flood (CVE-2024-27983): HEADERS without END_HEADERS, then CONTINUATION
//   frames without end, with header bytes and empty;
// - PING and SETTINGS floods (CVE-2019-9512, CVE-2019-9515): frames that each want an
//   acknowledgement, sent by a peer that does not read the acknowledgements;
// - a SETTINGS frame with more entries than `maxSettings`;
// - streams whose header block is malformed (an upper-case field name), a few, then a burst.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { constants } from "node:http2";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { App } from "../src/index.js";
import { quietApp } from "./support/apps.js";
import { watchCrashes } from "./support/crash-watch.js";
import {
  Flag,
  FrameType,
  frame,
  padHeader,
  pingFrame,
  RawH2Connection,
  requestBlock,
  rstStreamFrame,
  settingsFrame,
} from "./support/h2-frames.js";
import { clientFor, forEachProtocol, type Protocol, serveOn } from "./support/protocols.js";
import { sleep, waitFor, within } from "./support/wait.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

watchCrashes();

/** Leeway for heapUsed after GC, once an attack is over, against before it. */
const HEAP_TOLERANCE = 16 * 1024 * 1024;

/** An app with `/hang` (answers once released or cut), `/ping` and an SSE topic `/ticks`. */
function hostileH2App() {
  const app = quietApp();
  const release = new EventEmitter().setMaxListeners(0);
  const counts = { open: 0, mostOpen: 0, pings: 0 };
  app.get("/hang", async (req) => {
    counts.open++;
    counts.mostOpen = Math.max(counts.mostOpen, counts.open);
    await new Promise<void>((resolve) => {
      release.once("release", resolve);
      req.signal.addEventListener("abort", () => resolve());
    });
    counts.open--;
    return "released";
  });
  app.get("/ping", () => {
    counts.pings++;
    return "pong";
  });
  app.sse("/ticks", (req) => app.subscribe("ticks", { signal: req.signal }));
  return { app, counts, releaseAll: () => release.emit("release") };
}

/** The other client: one h2 connection with an SSE stream open, asked again after each attack. */
async function healthyClient(app: App, protocol: Protocol, url: string) {
  const client = await clientFor(protocol, url);
  const ticks = await client.open("/ticks");
  assert.equal(ticks.status, 200);
  await waitFor(() => app.topicSubscribers >= 1, "the healthy SSE stream to subscribe", 5000);
  let tick = 0;
  return {
    client,
    async assertStillServed(after: string) {
      tick++;
      await app.publish("ticks", { tick });
      await ticks.waitForText(
        (text) => text.includes(`{"tick":${tick}}`),
        `tick ${tick} after ${after}`,
        5000,
      );
      const ping = await within(client.request("/ping"), `GET /ping after ${after}`, 5000);
      assert.equal(ping.status, 200, `GET /ping after ${after}`);
    },
  };
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Sends `next()`'s frames until the server closes the connection or `limit` were sent. */
async function flood(connection: RawH2Connection, next: (index: number) => Buffer, limit: number) {
  let sent = 0;
  while (sent < limit && !connection.closed) {
    if (!connection.send(next(sent++)) && sent % 1000 === 0) await sleep(1);
    if (sent % 10_000 === 0) await sleep(1);
  }
  return sent;
}

forEachProtocol(["h2", "h2c"], (protocol) => {
  const tls = protocol === "h2";

  async function start() {
    const { app, counts, releaseAll } = hostileH2App();
    const first = await serveOn(app, protocol);
    const healthy = await healthyClient(app, protocol, first.url);
    const port = Number(new URL(first.url).port);
    const raw = () => RawH2Connection.open(port, tls);
    return { app, counts, releaseAll, healthy, raw, url: first.url, client: first };
  }

  /** Runs `attack`, then checks the other client is served and the heap came back. */
  async function survives(
    server: Awaited<ReturnType<typeof start>>,
    name: string,
    attack: () => Promise<void>,
  ) {
    await server.healthy.assertStillServed(`nothing (before ${name})`);
    const before = heapAfterGc();
    await attack();
    await server.healthy.assertStillServed(name);
    const growth = heapAfterGc() - before;
    assert.ok(growth < HEAP_TOLERANCE, `heap grew by ${growth} bytes after ${name}`);
  }

  test("no more than 100 streams of one connection are open at once (node:http2's client waits for a slot)", async () => {
    const server = await start();
    const answers = Array.from({ length: 150 }, () => server.client.request("/hang"));
    await waitFor(() => server.counts.open === 100, "100 streams open", 5000);
    await sleep(200);
    assert.equal(server.counts.mostOpen, 100);
    server.releaseAll();
    await waitFor(
      () => server.counts.open === 50,
      "the other 50 open once the first are done",
      5000,
    );
    server.releaseAll();
    for (const answer of await within(Promise.all(answers), "all 150 answers", 5000)) {
      assert.equal(answer.status, 200);
    }
  });

  test("the 101st concurrent stream is refused with REFUSED_STREAM; the connection goes on", async () => {
    const server = await start();
    await survives(server, "101 streams at once", async () => {
      const attacker = await server.raw();
      for (let index = 0; index < 101; index++) {
        const block = requestBlock("/hang", tls);
        attacker.send(
          frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1 + 2 * index, block),
        );
      }
      await waitFor(() => attacker.resets.size === 1, "the 101st stream's reset", 5000);
      assert.deepEqual([...attacker.resets], [[201, constants.NGHTTP2_REFUSED_STREAM]]);
      await waitFor(() => server.counts.open === 100, "the first 100 served", 5000);
      assert.equal(attacker.closed, false);
      server.releaseAll();
      await waitFor(() => attacker.answeredStreams.size === 100, "the 100 answered", 5000);
      attacker.destroy();
    });
  });

  test("a client that opens a 101st stream past the limit it acknowledged loses the connection", async () => {
    const server = await start();
    await survives(server, "101 streams past acknowledged SETTINGS", async () => {
      const attacker = await server.raw();
      await attacker.acknowledgeSettings();
      for (let index = 0; index < 101; index++) {
        const block = requestBlock("/hang", tls);
        attacker.send(
          frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1 + 2 * index, block),
        );
      }
      // (A GOAWAY goes first, but over TLS the close can come before it is read.)
      await waitFor(() => attacker.closed, "the attacker's connection closed", 5000);
      await waitFor(() => server.counts.open === 0, "its streams' handlers cancelled", 5000);
    });
  });

  test("rapid reset (CVE-2023-44487): thousands of streams opened and reset get a GOAWAY", async () => {
    const server = await start();
    await survives(server, "rapid reset", async () => {
      const attacker = await server.raw();
      const pings = server.counts.pings;
      const pairs = Array.from({ length: 5000 }, (_, index) =>
        Buffer.concat([
          frame(
            FrameType.HEADERS,
            Flag.END_HEADERS | Flag.END_STREAM,
            1 + 2 * index,
            requestBlock("/ping", tls),
          ),
          rstStreamFrame(1 + 2 * index, constants.NGHTTP2_CANCEL),
        ]),
      );
      attacker.send(Buffer.concat(pairs));
      await waitFor(() => attacker.goawayCode !== undefined, "the attacker's GOAWAY", 5000);
      await sleep(300);
      const served = server.counts.pings - pings;
      assert.ok(served < 5000, `${served} of the 5 000 reset streams reached a handler`);
      // Streams after the GOAWAY are not served.
      attacker.send(
        frame(
          FrameType.HEADERS,
          Flag.END_HEADERS | Flag.END_STREAM,
          10_001,
          requestBlock("/ping", tls),
        ),
      );
      await sleep(200);
      assert.equal(server.counts.pings - pings, served);
      attacker.destroy();
    });
  });

  for (const padded of [true, false]) {
    test(`CONTINUATION flood (CVE-2024-27983), ${padded ? "with header bytes" : "empty frames"}: the connection is closed`, async () => {
      const server = await start();
      await survives(server, "a CONTINUATION flood", async () => {
        const attacker = await server.raw();
        const pings = server.counts.pings;
        attacker.send(frame(FrameType.HEADERS, Flag.END_STREAM, 1, requestBlock("/ping", tls)));
        const body = padded ? padHeader(100) : Buffer.alloc(0);
        const sent = await flood(
          attacker,
          () => frame(FrameType.CONTINUATION, 0, 1, body),
          1_000_000,
        );
        await waitFor(() => attacker.closed, "the attacker's connection closed", 5000);
        assert.ok(sent < 1_000_000, `closed only after ${sent} CONTINUATION frames`);
        assert.equal(server.counts.pings, pings, "the endless request never reached a handler");
      });
    });
  }

  for (const [name, next] of [
    ["PING", (index: number) => pingFrame(index)],
    ["SETTINGS", () => settingsFrame([[constants.NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65_535]])],
  ] as const) {
    test(`${name} flood from a peer that does not read the acknowledgements: the connection is closed`, async () => {
      const server = await start();
      await survives(server, `a ${name} flood`, async () => {
        const attacker = await server.raw();
        attacker.socket.pause();
        const sent = await flood(attacker, next, 3_000_000);
        await waitFor(() => attacker.closed, "the attacker's connection closed", 10_000);
        assert.ok(sent < 3_000_000, `closed only after ${sent} ${name} frames`);
      });
    });
  }

  test("a SETTINGS frame of 32 entries is taken; one of 33 gets GOAWAY ENHANCE_YOUR_CALM", async () => {
    const server = await start();
    await survives(server, "SETTINGS of 33 entries", async () => {
      const entry = [constants.NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65_535] as const;
      const within32 = await server.raw();
      within32.send(settingsFrame(Array.from({ length: 32 }, () => entry)));
      within32.send(
        frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, requestBlock("/ping", tls)),
      );
      await waitFor(() => within32.answeredStreams.has(1), "the answer after 32 entries", 5000);
      assert.equal(within32.goawayCode, undefined);
      within32.destroy();

      const over = await server.raw();
      over.send(settingsFrame(Array.from({ length: 33 }, () => entry)));
      await waitFor(() => over.goawayCode !== undefined, "the GOAWAY after 33 entries", 5000);
      assert.equal(over.goawayCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
      over.destroy();
    });
  });

  test("streams with malformed headers are reset (PROTOCOL_ERROR); a burst of them closes the connection", async () => {
    const server = await start();
    await survives(server, "malformed streams", async () => {
      const upperCaseField = Buffer.from([0x00, 1, 0x41, 1, 0x61]); // "A: a"
      const malformed = (index: number) =>
        frame(
          FrameType.HEADERS,
          Flag.END_HEADERS | Flag.END_STREAM,
          1 + 2 * index,
          Buffer.concat([requestBlock("/ping", tls), upperCaseField]),
        );
      const few = await server.raw();
      for (let index = 0; index < 5; index++) few.send(malformed(index));
      await waitFor(() => few.resets.size === 5, "5 resets", 5000);
      assert.deepEqual(new Set(few.resets.values()), new Set([constants.NGHTTP2_PROTOCOL_ERROR]));
      assert.equal(few.closed, false);
      few.destroy();

      const pings = server.counts.pings;
      // A burst counts against the 100 concurrent streams (those reset are not yet freed):
      // with the limit acknowledged, the 101st ends the connection.
      const many = await server.raw();
      await many.acknowledgeSettings();
      await flood(many, malformed, 1000);
      await waitFor(() => many.closed, "the connection closed", 5000);
      assert.equal(server.counts.pings, pings, "no malformed request reached a handler");
    });
  });
});
