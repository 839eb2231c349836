import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { sleep } from "./support/wait.js";

const FLOOD_BYTES = 50 * 1024 * 1024;
const MB = 1024 * 1024;

interface Stats {
  rss: number;
  arrayBuffers: number;
  produced: number;
  finished: boolean;
}

async function startFloodServer(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "test/fixtures/flood-server.ts"],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, FLOOD_BYTES: String(FLOOD_BYTES), ...env },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`flood server exited early with ${code}`)));
    child.stdout!.once("data", (data) => resolve(JSON.parse(String(data)).port));
  });
  return { child, port };
}

async function stats(port: number): Promise<Stats> {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  return (await response.json()) as Stats;
}

/** Reads the whole response at about `bytesPerSecond`, in 10 ms slices; resolves with its size. */
function readSlowly(socket: Socket, bytesPerSecond: number): Promise<number> {
  const sliceBudget = bytesPerSecond / 100;
  let received = 0;
  let inSlice = 0;
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      inSlice = 0;
      socket.resume();
    }, 10);
    socket.on("data", (data: Buffer) => {
      received += data.length;
      inSlice += data.length;
      if (inSlice >= sliceBudget) socket.pause();
      if (data.subarray(-5).toString() === "0\r\n\r\n") {
        clearInterval(timer);
        resolve(received);
      }
    });
    socket.on("error", reject);
  });
}

/**
 * Opens the flood stream, reads nothing for a second (the producer must stop), then reads it
 * all at 25 MB/s while sampling the server's memory every 100 ms.
 */
async function floodThroughSlowReader(port: number) {
  for (let i = 0; i < 3; i++) await stats(port); // warm up the JIT and the allocator
  const baseline = await stats(port);
  const socket = connect(port, "127.0.0.1");
  socket.pause();
  socket.write("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n");
  await sleep(1000);
  const whilePaused = await stats(port);
  let peak = whilePaused;
  const sampler = setInterval(async () => {
    const sample = await stats(port);
    if (sample.rss > peak.rss) peak = sample;
  }, 100);
  const received = await readSlowly(socket, 25 * MB);
  clearInterval(sampler);
  socket.destroy();
  const after = await stats(port);
  if (after.rss > peak.rss) peak = after;
  return { baseline, whilePaused, peak, after, received };
}

/** While the client read nothing the producer stopped early; reading on, it produced it all. */
function assertProducerWaitedThenFinished(run: Awaited<ReturnType<typeof floodThroughSlowReader>>) {
  assert.ok(
    run.whilePaused.produced < 16 * MB,
    `producer ran ahead: ${run.whilePaused.produced} bytes`,
  );
  assert.equal(run.after.produced, FLOOD_BYTES);
}

describe("backpressure: 50 MB produced as fast as possible to a slow reader", () => {
  test("string chunks: the producer waits for the reader and server RSS grows by < 32 MB", async (t) => {
    const { child, port } = await startFloodServer({ FLOOD_KIND: "string" });
    t.after(() => child.kill());
    const run = await floodThroughSlowReader(port);
    assertProducerWaitedThenFinished(run);
    assert.ok(
      run.received > FLOOD_BYTES,
      `received ${run.received} bytes (body plus chunk framing)`,
    );
    const growth = (run.peak.rss - run.baseline.rss) / MB;
    t.diagnostic(`peak server RSS growth: ${growth.toFixed(1)} MB`);
    assert.ok(growth < 32, `server RSS grew by ${growth.toFixed(1)} MB`);
  });

  test("fresh 16 KB Buffers: the producer waits and nothing is retained once garbage is collected", async (t) => {
    // V8 collects external (Buffer) memory lazily, so RSS shows garbage the allocator keeps;
    // with a GC before each sample, live ArrayBuffer memory shows what the server holds on to.
    const { child, port } = await startFloodServer({ FLOOD_KIND: "buffer", FLOOD_GC: "1" });
    t.after(() => child.kill());
    const run = await floodThroughSlowReader(port);
    assertProducerWaitedThenFinished(run);
    const liveAtPeak = run.peak.arrayBuffers / MB;
    t.diagnostic(
      `live ArrayBuffers at the RSS peak: ${liveAtPeak.toFixed(1)} MB; RSS growth ${((run.peak.rss - run.baseline.rss) / MB).toFixed(1)} MB`,
    );
    assert.ok(liveAtPeak < 16, `${liveAtPeak.toFixed(1)} MB of buffers held`);
  });
});
