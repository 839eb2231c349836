import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { jsonPayload, makeRow } from "../servers/rows.js";

const ROWS = 1000;

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

async function withContext(name: string, path: string, check: () => Promise<void>) {
  try {
    await check();
  } catch (error) {
    throw new Error(`sanity check failed for ${name} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
