// `--client-ip-header`: behind a proxy, `--max-connections-per-ip` counts by the address the
// proxy writes in the header, not by the proxy's own; x-forwarded-for by its last entry (what
// a client writes before it is not trusted); no header, the TCP peer. Without the setting,
// the header is ignored.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { createHub } from "../src/hub/hub.js";
import { hubConfig } from "../src/hub/hub-config.js";
import type { ListeningServer } from "../src/index.js";

const KEY = "client-ip-publish-key-0123456789";
process.env.LOG_LEVEL = "silent";

const servers: ListeningServer[] = [];
const streams: AbortController[] = [];
after(async () => {
  for (const stream of streams) stream.abort();
  await Promise.all(servers.map((server) => server.close()));
});

async function hub(...flags: string[]): Promise<string> {
  const options = hubConfig(["--publish-key", KEY, "--max-connections-per-ip", "1", ...flags], {});
  const server = await createHub(options).listen({ port: 0, host: "127.0.0.1" });
  servers.push(server);
  return server.url;
}

/** Opens an SSE stream on /rt, kept open until the file's end; resolves its status. */
async function stream(url: string, headers: Record<string, string> = {}): Promise<number> {
  const controller = new AbortController();
  streams.push(controller);
  const response = await fetch(`${url}/rt?topic=news`, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  if (response.status !== 200) await response.body?.cancel();
  return response.status;
}

describe("--client-ip-header", () => {
  test("x-forwarded-for: counted by its last entry, one stream per client", async () => {
    const url = await hub("--client-ip-header", "X-Forwarded-For");
    assert.equal(await stream(url, { "x-forwarded-for": "203.0.113.1" }), 200);
    assert.equal(await stream(url, { "x-forwarded-for": "203.0.113.2" }), 200);
    // A client that writes another address first is still counted by what the proxy added.
    assert.equal(await stream(url, { "x-forwarded-for": "198.51.100.9, 203.0.113.1" }), 503);
    assert.equal(await stream(url, { "x-forwarded-for": "203.0.113.1, 203.0.113.3" }), 200);
    // Without the header: the TCP peer (127.0.0.1), once.
    assert.equal(await stream(url), 200);
    assert.equal(await stream(url), 503);
  });

  test("another header: its whole value", async () => {
    const url = await hub("--client-ip-header", "x-real-ip");
    assert.equal(await stream(url, { "x-real-ip": "203.0.113.1" }), 200);
    assert.equal(await stream(url, { "x-real-ip": "203.0.113.2" }), 200);
    assert.equal(await stream(url, { "x-real-ip": " 203.0.113.2 " }), 503);
  });

  test("without it, every stream from this host counts as one client, whatever the header says", async () => {
    const url = await hub();
    assert.equal(await stream(url, { "x-forwarded-for": "203.0.113.1" }), 200);
    assert.equal(await stream(url, { "x-forwarded-for": "203.0.113.2" }), 503);
  });
});
