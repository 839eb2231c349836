/*
 * What a `message`/`send` schema costs a WebSocket echo, against the same echo without one,
 * in the same run: routes take turns, each round in a fresh child process of clients (so
 * client CPU is not the server's).
 *
 *   npx tsx bench/websocket-schema-cost.ts [rounds]
 *
 * Routes: `raw` echoes the text as it came (the floor); `json` parses it (receiveJson) and
 * sends it back as JSON (sendJson): the untyped way; `zod` declares `message` and `send`
 * with validateOutput off (production); `zod+out` with it on (development). Then the
 * per-message CPU of the parts alone, in this process (steadier than the end-to-end rates on
 * a busy machine): JSON.parse against parse + validate, stringify against validate + stringify.
 */
import { spawn } from "node:child_process";
import { z } from "zod";
import { parseJson } from "../src/http/safe-json.js";
import { App } from "../src/index.js";
import { stringifyJson } from "../src/util/json.js";
import { MessageDecoder } from "../src/websocket/message-decoder.js";
import { SendEncoder } from "../src/websocket/send-encoder.js";

const CONNECTIONS = 50;
const MESSAGES_PER_CONNECTION = 4_000;
const IN_FLIGHT = 16;
const ROUNDS = Number(process.argv[2] ?? 5);

const chat = z.object({
  type: z.literal("chat"),
  room: z.string().max(64),
  text: z.string().max(500),
  n: z.number().int(),
});

async function start(validateOutput: boolean): Promise<{ app: App; url: string }> {
  const app = new App({ logger: false, validateOutput });
  app.websocket("/raw", async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  app.websocket("/json", async (socket) => {
    for (;;) {
      const message = await socket.receiveJson();
      if (message === undefined) return;
      await socket.sendJson(message);
    }
  });
  app.websocket("/zod", { message: chat, send: chat }, async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, url: url.replace("http", "ws") };
}

/** Clients in a child process: each keeps IN_FLIGHT messages in flight; prints messages/s. */
const CLIENT = `
const WebSocket = require("ws");
const [url, connections, perConnection, inFlight] = process.argv.slice(1);
const body = JSON.stringify({ type: "chat", room: "lobby", text: "hello, world", n: 123 });
let done = 0;
const started = performance.now();
for (let c = 0; c < +connections; c++) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let sent = 0, received = 0;
  ws.on("open", () => { for (; sent < +inFlight; sent++) ws.send(body); });
  ws.on("message", () => {
    if (++received === +perConnection) { ws.close(); if (++done === +connections) {
      const seconds = (performance.now() - started) / 1000;
      console.log(Math.round((connections * perConnection) / seconds)); } return; }
    if (sent < +perConnection) { sent++; ws.send(body); }
  });
  ws.on("error", (e) => { console.error(e.message); process.exit(1); });
}`;

function runClients(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [url, CONNECTIONS, MESSAGES_PER_CONNECTION, IN_FLIGHT].map(String);
    const child = spawn(process.execPath, ["-e", CLIENT, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.once("exit", (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`clients exited ${code}`)),
    );
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const production = await start(false);
const development = await start(true);
const targets: [string, string][] = [
  ["raw", `${production.url}/raw`],
  ["json", `${production.url}/json`],
  ["zod", `${production.url}/zod`],
  ["zod+out", `${development.url}/zod`],
];
const results = new Map<string, number[]>(targets.map(([name]) => [name, []]));
await runClients(targets[0]?.[1] ?? ""); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, url] of targets) results.get(name)?.push(await runClients(url));
}
const baseline = median(results.get("json") ?? []);
console.log(
  `WebSocket echo, ${CONNECTIONS} connections x ${MESSAGES_PER_CONNECTION} messages, ${IN_FLIGHT} in flight each, median of ${ROUNDS} rounds`,
);
for (const [name, values] of results) {
  const rate = median(values);
  const vsJson = (((rate - baseline) / baseline) * 100).toFixed(1);
  console.log(`${name.padEnd(8)} ${String(rate).padStart(8)} msg/s  (${vsJson}% vs json)`);
}
await production.app.close();
await development.app.close();

/** Nanoseconds per call of `run`, after a warm-up. */
function nsPerCall(run: () => unknown, calls = 1_000_000): number {
  for (let i = 0; i < calls / 10; i++) run();
  const started = performance.now();
  for (let i = 0; i < calls; i++) run();
  return Math.round(((performance.now() - started) * 1e6) / calls);
}

const text = JSON.stringify({ type: "chat", room: "lobby", text: "hello, world", n: 123 });
const value = JSON.parse(text) as unknown;
const decoder = new MessageDecoder(chat, "close");
const encoder = new SendEncoder(chat, true);
console.log("Per message, in process:");
console.log(
  `  receive: JSON.parse ${nsPerCall(() => parseJson(text))} ns, parse + zod ${nsPerCall(() => decoder.decode(text))} ns`,
);
console.log(
  `  send:    stringify ${nsPerCall(() => stringifyJson(value))} ns, zod + stringify ${nsPerCall(() => encoder.encode(value))} ns`,
);
