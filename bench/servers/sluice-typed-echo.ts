import { echoMessageSchema } from "./message-schemas.js";
import { announceReady } from "./ready.js";

/*
 * Scenario (c), WebSocket echo, on sluice with typed messages: what a schema costs per
 * message. BENCH_ECHO picks the route (bench/lib/peers.ts starts one process per column):
 *
 * - "json": no schema; each message is parsed (`socket.receiveJson()`) and the value sent
 *   back as JSON (`socket.sendJson()`): the parse and stringify any typed route must do.
 * - "zod": `app.websocket(path, { message, send }, handler)` with the zod schema of the echo
 *   messages; the loop gets each message parsed and validated, and sends it back through the
 *   `send` schema. validateOutput is off, as in production: only what comes in is checked.
 * - "zod-output": the same with validateOutput on (the default outside production): each
 *   message sent is checked against `send` too.
 *
 * bench/servers/sluice.ts echoes each message as it came, unparsed: the third point of
 * comparison. The echo clients send `echoText()`, JSON whose keys come in the schema's order,
 * so every variant sends back the very bytes it was sent.
 */
type Sluice = typeof import("../../src/index.js");

// The same switch as sluice.ts: BENCH_SLUICE_DIST=1 loads the tsc build (dist/).
const entry = process.env.BENCH_SLUICE_DIST === "1" ? "../../dist/index.js" : "../../src/index.js";
const { App } = (await import(entry)) as Sluice;

const ECHOES = ["json", "zod", "zod-output"] as const;
type Echo = (typeof ECHOES)[number];

function echoOf(value: string | undefined): Echo {
  const echo = ECHOES.find((name) => name === value);
  if (!echo) throw new Error(`BENCH_ECHO must be one of ${ECHOES.join(", ")}, got ${value}`);
  return echo;
}

const echo = echoOf(process.env.BENCH_ECHO);
const app = new App({ logger: false, validateOutput: echo === "zod-output" });

// sluice.ts's slow-consumer limit (maxBuffered), far above what a run queues.
const wsOptions = { maxBuffered: 64 * 1024 * 1024 };

if (echo === "json") {
  app.websocket("/ws/echo", wsOptions, async (socket) => {
    for (;;) {
      const message = await socket.receiveJson();
      if (message === undefined) return;
      await socket.sendJson(message);
    }
  });
} else {
  const typed = { ...wsOptions, message: echoMessageSchema, send: echoMessageSchema };
  app.websocket("/ws/echo", typed, async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
}

app.get("/ws/clients", () => ({
  clients: app.connections.websocket,
  open: app.connections.websocket,
}));

const { port } = await app.listen({ port: 0, host: "127.0.0.1" });
announceReady(port);
