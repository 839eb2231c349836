/*
 * cutIfNeverTaken (src/stream/stalled-finish.ts): a response that has ended with bytes still
 * queued for a client that reads none of them is cut; one whose client reads, however
 * slowly, is left to finish. Real node:http servers and clients on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { cutIfNeverTaken } from "../src/stream/stalled-finish.js";
import { waitFor } from "./support/wait.js";

const CHUNK = Buffer.alloc(64 * 1024, "x");

/** A server whose one response writes until its socket is full, ends, then is watched. */
async function endedWhileFull(timeoutMs: number) {
  let response: ServerResponse | undefined;
  const server = createServer((_req, res) => {
    response = res;
    res.writeHead(200, { "content-type": "application/octet-stream" });
    let written = 0;
    // Fill the kernel's buffers and some of the response's own, then end.
    const fill = () => {
      while (res.write(CHUNK)) written += CHUNK.length;
      if (written < 64 * 1024 * 1024 && res.writableLength < 256 * 1024) setTimeout(fill, 1);
      else {
        res.end();
        cutIfNeverTaken(res, timeoutMs);
      }
    };
    fill();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const req = request({ port, host: "127.0.0.1", agent: false });
  req.end();
  const [res] = (await once(req, "response")) as [IncomingMessage];
  res.pause();
  res.socket.pause();
  await waitFor(() => response?.writableEnded === true, "the response to end", 10_000);
  return { server, res, response: response as ServerResponse };
}

test("a response that ended while its client reads nothing is cut after the timeout, not before", async () => {
  const { server, res, response } = await endedWhileFull(200);
  const endedAt = performance.now();
  assert.equal(response.writableFinished, false, "bytes are still queued");
  await waitFor(() => response.destroyed, "the response to be cut", 5000);
  const elapsed = performance.now() - endedAt;
  assert.ok(elapsed >= 180, `cut after ${Math.round(elapsed)} ms`);
  res.destroy();
  server.closeAllConnections();
  server.close();
});

test("a client that reads slowly is not cut: the response finishes", async () => {
  // Progress shows only when the kernel takes more of the queued bytes, which it does in
  // steps once the client has emptied part of its receive buffer: the window is 1 s here, and
  // the client reads 64 KiB every 20 ms.
  const { server, res, response } = await endedWhileFull(1000);
  const reading = setInterval(() => res.socket.read(64 * 1024), 20);
  try {
    await waitFor(() => response.writableFinished || response.destroyed, "the end", 30_000);
    assert.equal(response.writableFinished, true, "finished, not cut");
  } finally {
    clearInterval(reading);
    res.destroy();
    server.closeAllConnections();
    server.close();
  }
});
