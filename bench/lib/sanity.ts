import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { once } from "node:events";
import { get, type IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { jsonPayload, makeRow } from "../servers/rows.js";
import { sseFrame } from "../servers/sse-events.js";
import { startPublishing, stopPublishing, waitForSubscribers } from "./sse-control.js";

const ROWS = 1000;
const SSE_CLIENTS = 20;
/** How long the SSE check publishes, as fast as the clients take events. */
const SSE_PUBLISH_MS = 300;

/** Checks a server answers what the benchmark expects before its speed is measured. */
export function checkJson(name: string, port: number, path: string): Promise<void> {
  return withContext(name, path, async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    strictEqual(response.status, 200, "status");
    deepStrictEqual(await response.json(), jsonPayload(), "body");
  });
}

/** A small stream must arrive whole: every row, in order, each on its own line. */
export function checkNdjson(name: string, port: number, path: string): Promise<void> {
  return withContext(name, path, async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}?rows=${ROWS}`);
    strictEqual(response.status, 200, "status");
    const lines = (await response.text()).split("\n");
    strictEqual(lines.pop(), "", "the stream ends with a newline");
    strictEqual(lines.length, ROWS, "row count");
    lines.forEach((line, i) => {
      strictEqual(line, JSON.stringify(makeRow(i)), `row ${i}`);
    });
  });
}

/**
 * Every subscriber must receive every published event, in order, byte for byte (read with
 * node:http's client, not the benchmark's event counter), and the server must let go of every
 * subscriber once they leave.
 */
export function checkSse(name: string, port: number): Promise<void> {
  return withContext(name, "/sse", async () => {
    const responses = await Promise.all(Array.from({ length: SSE_CLIENTS }, () => subscribe(port)));
    const texts = responses.map(collectText);
    try {
      for (const response of responses) {
        strictEqual(response.statusCode, 200, "status");
        match(response.headers["content-type"] ?? "", /^text\/event-stream\b/, "content-type");
      }
      await waitForSubscribers(port, SSE_CLIENTS);
      await startPublishing(port, 0);
      await sleep(SSE_PUBLISH_MS);
      const published = await stopPublishing(port);
      const expected = Array.from({ length: published }, (_, seq) => sseFrame(seq)).join("");
      const deadline = performance.now() + 5000;
      while (texts.some((text) => text().length < expected.length)) {
        if (performance.now() > deadline) break;
        await sleep(20);
      }
      texts.forEach((text, i) => {
        strictEqual(text(), expected, `client ${i}: the ${published} events, in order`);
      });
    } finally {
      for (const response of responses) response.destroy();
    }
    await waitForSubscribers(port, 0);
  });
}

async function subscribe(port: number): Promise<IncomingMessage> {
  const request = get({ host: "127.0.0.1", port, path: "/sse", agent: false });
  const [response] = (await once(request, "response")) as [IncomingMessage];
  return response;
}

/** Collects a response's body; the returned function reads what has arrived so far. */
function collectText(response: IncomingMessage): () => string {
  let text = "";
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    text += chunk;
  });
  response.on("error", () => {}); // destroyed at the end of the check
  return () => text;
}

async function withContext(name: string, path: string, check: () => Promise<void>) {
  try {
    await check();
  } catch (error) {
    throw new Error(`sanity check failed for ${name} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
