import type { ServerResponse } from "node:http";

/** Answers 200 with `body` as JSON: the control routes of the node:http baseline. */
export function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
