/*
 * docs/protocol.md says exactly what the server does: every number and code below is read
 * from the page and checked against a running endpoint, so the page cannot drift from the
 * server (close codes 4500-4599, how the SSE stream starts, the field limits, what happens
 * to a connection whose requests are not answered).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import WebSocket from "ws";
import { App, HttpError } from "../src/index.js";
import { type Frame, RealtimePeer } from "./support/realtime-peer.js";
import { within } from "./support/wait.js";

const DOC = readFileSync(new URL("../docs/protocol.md", import.meta.url), "utf8").replace(
  /\s+/g,
  " ",
);

/** The first capture of `pattern` in the page (whitespace collapsed), or a failure saying what is missing. */
function documented(pattern: RegExp, what: string): string {
  const match = pattern.exec(DOC);
  assert.ok(match?.[1], `docs/protocol.md must state ${what} (${pattern})`);
  return match[1];
}

function numberOf(text: string): number {
  return Number(text.replace(/[\s,]/g, ""));
}

async function wsUrl(app: App): Promise<string> {
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return `${url.replace(/^http/, "ws")}/rt`;
}

function codeOf(reply: Frame): string | undefined {
  return (reply.error as { code?: string } | undefined)?.code;
}

describe("docs/protocol.md against the server", () => {
  test("the close-code table covers 4500-4599 (onConnect's 503 gives 4503) as retryable", async () => {
    const row = documented(/\| (4500–4599 \|[^|]*\|[^|]*)\|/, "a row for close codes 4500–4599");
    assert.match(row.split("|")[2] ?? "", /yes/, "4500–4599: the client reconnects");
    const app = new App({ logger: false });
    app.realtime("/rt", {
      onConnect() {
        throw new HttpError(503, "warming up");
      },
    });
    const url = await wsUrl(app);
    try {
      const ws = new WebSocket(url, ["sluice.v1"]);
      ws.on("error", () => {});
      const code = await within(
        new Promise<number>((resolve) => ws.on("close", (closeCode) => resolve(closeCode))),
        "the close",
      );
      assert.equal(code, 4503);
    } finally {
      await app.close();
    }
  });

  test("the SSE stream's start is described as it is: retry (when set), the comment, then the position", async () => {
    documented(
      /The stream starts \(after a (`retry:`) line, when the endpoint sets `sse\.retry`\) with the comment line `: sluice\.v1`/,
      "the retry line first",
    );
    documented(/then a block holding only (`id: <position>`)/, "the opening position block");
    const app = new App({ logger: false });
    app.realtime("/rt", { subscribe: ["a"], sse: { retry: 250 } });
    const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const response = await fetch(`${url}/rt?topic=a`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      while (!/id: [^\n]*\n\n/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assert.match(text, /^retry: 250\n\n: sluice\.v1\n\nid: [^\n]+\n\n$/);
      await reader.cancel();
    } finally {
      await app.close();
    }
  });

  test("the field limits are stated and enforced: topic, since, event, method", async () => {
    const maxTopic = numberOf(
      documented(/a `topic` is 1 to ([\d ]+) characters/, "the topic limit"),
    );
    const maxSince = numberOf(documented(/a `since` 1 to ([\d ]+)/, "the since limit"));
    documented(/(an `event` and a `method` at least 1)/, "non-empty event and method");
    const app = new App({ logger: false });
    app.realtime("/rt", { subscribe: () => true, publish: () => true });
    const url = await wsUrl(app);
    try {
      const peer = await RealtimePeer.connect(url);
      const topic = (length: number) => "t".repeat(length);
      assert.equal((await peer.request({ type: "subscribe", topic: topic(maxTopic) })).ok, true);
      const long = await peer.request({ type: "subscribe", topic: topic(maxTopic + 1) });
      assert.equal(codeOf(long), "invalid");
      const since = (length: number) => ({
        type: "subscribe",
        topic: "s",
        since: "1".repeat(length),
      });
      assert.equal(codeOf(await peer.request(since(maxSince + 1))), "invalid");
      assert.notEqual(codeOf(await peer.request(since(maxSince))), "invalid");
      const emptyEvent = { type: "publish", topic: "p", data: 1, event: "" };
      assert.equal(codeOf(await peer.request(emptyEvent)), "invalid");
      assert.equal(codeOf(await peer.request({ type: "call", method: "" })), "invalid");
      await peer.close();
    } finally {
      await app.close();
    }
  });

  test("a connection whose 64 requests are unanswered is read up to 1 MiB, then closed with 1013 after the heartbeat", async () => {
    const inFlight = numberOf(
      documented(
        /While (\d+) requests of a connection await their replies/,
        "the requests in flight",
      ),
    );
    documented(
      /until (1 MiB) of them waits, then stops reading the socket/,
      "the 1 MiB read ahead",
    );
    documented(
      /longer than the endpoint's `heartbeat` \(30 s by default\) is (closed with 1013)/,
      "the 1013 close",
    );
    const app = new App({ logger: false });
    app.realtime("/rt", {
      heartbeat: 300,
      messageRate: false,
      callTimeout: 60_000,
      methods: { never: () => new Promise(() => {}) },
    });
    const url = await wsUrl(app);
    try {
      const peer = await RealtimePeer.connect(url);
      for (let i = 0; i < inFlight; i++) {
        peer.send(JSON.stringify({ type: "call", ref: i, method: "never" }));
      }
      // 1.2 MB more frames than the server takes: it stops reading, then gives up on the peer.
      const params = "p".repeat(100_000);
      const started = Date.now();
      for (let i = 0; i < 12; i++) {
        peer.send(JSON.stringify({ type: "call", ref: `x${i}`, method: "never", params }));
      }
      const closed = await within(peer.closed, "the close", 5000);
      assert.equal(closed.code, 1013);
      assert.ok(Date.now() - started >= 250, "not before the heartbeat interval");
    } finally {
      await app.close({ timeout: 500 });
    }
  });
});
