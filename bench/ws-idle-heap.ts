/*
 * Heap held per idle WebSocket connection: sluice's app.websocket() vs a hand-written `ws`
 * server, 2 000 connections from a child process (so client memory is not counted).
 *
 *   node --expose-gc --import tsx bench/ws-idle-heap.ts ws
 *   node --expose-gc --import tsx bench/ws-idle-heap.ts sluice
 *
 * Heap only (no RSS): a first look until the idle-memory scenario of the bench suite.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer } from "ws";
import { App } from "../src/index.js";

const CONNECTIONS = 2000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

async function startServer(kind: string): Promise<string> {
  if (kind === "ws") {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    server.on("upgrade", (request, socket, head) =>
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  }
  const app = new App({ logger: false });
  app.websocket("/ws", async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  const { url } = await app.listen({ port: 0 });
  return `${url.replace("http", "ws")}/ws`;
}

const kind = process.argv[2] ?? "sluice";
const url = await startServer(kind);
gc();
await sleep(100);
gc();
const before = process.memoryUsage().heapUsed;
const clients = spawn(
  process.execPath,
  [
    "-e",
    `const WebSocket = require("ws"); let open = 0;
     for (let i = 0; i < ${CONNECTIONS}; i++) {
       const c = new WebSocket(${JSON.stringify(url)}, { perMessageDeflate: false });
       c.on("open", () => { if (++open === ${CONNECTIONS}) console.log("ready"); });
       c.on("error", (e) => { console.error(e.message); process.exit(1); });
     }`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
await new Promise<void>((resolve) =>
  clients.stdout.on("data", (data) => String(data).includes("ready") && resolve()),
);
await sleep(500);
gc();
await sleep(100);
gc();
const perConnection = (process.memoryUsage().heapUsed - before) / CONNECTIONS;
console.log(`${kind}: ${(perConnection / 1024).toFixed(2)} KiB of heap per idle WebSocket`);
clients.kill();
process.exit(0);
