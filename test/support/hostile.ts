/*
 * Tools for the hostile-input suite (test/hostile-http.test.ts): an app with one route of
 * each kind, a pair of well-behaved long-lived clients that must keep working whatever the
 * hostile ones do, and raw-socket senders that report exactly what came back.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { App, type AppOptions, SseEvent } from "../../src/index.js";
import { TestClient, type TestEventStream, type TestWebSocket } from "../../src/testing/index.js";
import { capturedLogger, errorLines, type LogLine } from "./logging.js";
import { decodeChunked, portOf } from "./raw-http.js";
import { sleep, waitFor, within } from "./wait.js";

/** The topic the healthy SSE client follows. */
const TICKS = "ticks";

/**
 * An App with a plain route, a JSON body route, a route that answers without reading its body,
 * two SSE routes and a WebSocket echo, logging into memory.
 */
export function hostileApp(options: AppOptions): { app: App; lines: LogLine[] } {
  const { logger, lines } = capturedLogger();
  const app = new App({ ...options, logger });
  app.get("/ping", () => "pong");
  app.post("/json", async (req) => ({ received: await req.json() }));
  app.post("/later", async () => {
    await sleep(20);
    return "answered without reading the body";
  });
  app.sse("/ticks", (req) => app.subscribe(TICKS, { signal: req.signal }));
  // Reads Last-Event-ID before streaming, so a refused one is an HTTP status.
  app.sse("/resume", (req) => [new SseEvent({ data: { lastEventId: req.lastEventId ?? null } })]);
  app.websocket("/ws", async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  return { app, lines };
}

/**
 * A well-behaved SSE subscriber and WebSocket peer, opened before the hostile clients come:
 * after each hostile case they must still get what is sent to them, and the server must still
 * answer a plain GET.
 */
export class HealthyClients {
  private ticks = 0;

  private constructor(
    private readonly app: App,
    private readonly client: TestClient,
    private readonly events: TestEventStream,
    private readonly ws: TestWebSocket,
  ) {}

  static async open(app: App, client: TestClient): Promise<HealthyClients> {
    const events = client.events("/ticks");
    const head = await within(events.response, "the healthy SSE stream's head", 5000);
    assert.equal(head.statusCode, 200);
    // Only live messages reach a subscriber without Last-Event-ID: wait until it is live.
    await waitFor(() => app.topicSubscribers === 1, "the healthy SSE stream to subscribe", 5000);
    const ws = await within(client.websocketConnect("/ws"), "the healthy WebSocket", 5000);
    return new HealthyClients(app, client, events, ws);
  }

  async assertStillServed(after: string): Promise<void> {
    const tick = ++this.ticks;
    await this.app.publish(TICKS, { tick });
    const [event] = await within(this.events.take(1), `the SSE tick ${tick} after ${after}`, 5000);
    assert.deepEqual(JSON.parse(event.data), { tick }, `SSE tick after ${after}`);
    await this.ws.sendJson({ echo: tick });
    const echoed = await within(this.ws.receiveJson(), `the WebSocket echo after ${after}`, 5000);
    assert.deepEqual(echoed, { echo: tick }, `WebSocket echo after ${after}`);
    const ping = await within(this.client.get("/ping"), `GET /ping after ${after}`, 5000);
    assert.equal(ping.statusCode, 200, `GET /ping after ${after}`);
    assert.equal(ping.text(), "pong");
  }
}

/** A hostile-suite server: the app, its test client and port, its log and its healthy clients. */
export interface HostileServer {
  app: App;
  client: TestClient;
  port: number;
  lines: LogLine[];
  healthy: HealthyClients;
}

/** Starts a hostile-suite app (with `addRoutes` for a block's own routes) and its healthy clients. */
export async function startHostileServer(
  options: AppOptions,
  addRoutes: (app: App) => void = () => {},
): Promise<HostileServer> {
  const { app, lines } = hostileApp(options);
  addRoutes(app);
  const client = await TestClient.start(app);
  const healthy = await HealthyClients.open(app, client);
  return { app, client, port: portOf(client.url), lines, healthy };
}

/** The messages of log lines at error level or above: none may come from a client's mistake. */
export function errorMessages(lines: LogLine[]): string[] {
  return errorLines(lines).map((line) => line.msg);
}

/** What the server sent back on one raw connection. */
export interface RawAnswer {
  /** Everything received, decoded as Latin-1 (one character per byte). */
  raw: string;
  /** `HTTP/1.1 400 Bad Request`, or "" when nothing came. */
  statusLine: string;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** The body (de-chunked when chunked). */
  body: string;
  /** True when the server closed the connection (FIN or reset) before we did. */
  closedByServer: boolean;
}

export interface SendOptions {
  /**
   * "close" (default): wait for the server to close the connection; "answer": stop as soon as
   * one whole response has arrived (for answers on a connection the server keeps open).
   */
  until?: "close" | "answer";
  /** How long to wait before giving up (the answer then says the server did not close). */
  timeout?: number;
}

/** Sends raw bytes on a new connection and reports what came back. */
export function sendRaw(
  port: number,
  payload: string | Buffer,
  options: SendOptions = {},
): Promise<RawAnswer> {
  const { until = "close", timeout = 5000 } = options;
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let raw = "";
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(raw), raw, closedByServer });
    };
    const timer = setTimeout(() => finish(false), timeout);
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => {
      raw += data;
      if (until === "answer" && isCompleteResponse(raw)) finish(false);
    });
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.on("error", () => {}); // a reset: 'close' follows
    socket.write(payload);
  });
}

/** Splits the first response of `raw` into status line, headers and body. */
export function parseAnswer(raw: string): Omit<RawAnswer, "raw" | "closedByServer"> {
  const headEnd = raw.indexOf("\r\n\r\n");
  if (headEnd === -1) return { statusLine: raw.split("\r\n")[0], headers: {}, body: "" };
  const [statusLine, ...lines] = raw.slice(0, headEnd).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const chunked = /chunked/i.test(headers["transfer-encoding"] ?? "");
  const length = headers["content-length"];
  let body = raw.slice(headEnd + 4);
  if (chunked) body = decodeChunked(raw).body;
  else if (length !== undefined) body = body.slice(0, Number(length)); // a pipelined answer may follow
  return { statusLine, headers, body };
}

function isCompleteResponse(raw: string): boolean {
  const headEnd = raw.indexOf("\r\n\r\n");
  if (headEnd === -1) return false;
  const { statusLine, headers } = parseAnswer(raw.slice(0, headEnd + 4));
  if (statusLine.startsWith("HTTP/1.1 101 ")) return true; // the rest is WebSocket frames
  if (headers["content-length"] !== undefined) {
    return raw.length - (headEnd + 4) >= Number(headers["content-length"]);
  }
  return raw.endsWith("0\r\n\r\n");
}

/** The JSON body of an answer, with a message saying what came instead when it is not JSON. */
export function jsonBody(answer: RawAnswer): { error?: string; message?: string } {
  try {
    return JSON.parse(answer.body);
  } catch {
    assert.fail(`expected a JSON body, got ${JSON.stringify(answer.raw.slice(0, 300))}`);
  }
}

/**
 * Asserts a refusal: exactly this status line, a JSON body `{ error, message }` with this
 * message, and (by default) the connection closed by the server after it.
 */
export function assertRefused(
  answer: RawAnswer,
  status: string,
  message: string | RegExp,
  { closes = true } = {},
): void {
  assert.equal(answer.statusLine, `HTTP/1.1 ${status}`, `answer: ${JSON.stringify(answer.raw)}`);
  const body = jsonBody(answer);
  assert.equal(body.error, status.slice(4));
  if (typeof message === "string") assert.equal(body.message, message);
  else assert.match(String(body.message), message);
  if (closes) {
    assert.equal(answer.closedByServer, true, "the server closes the connection");
    assert.match(answer.headers.connection ?? "", /close/i);
  }
}

/** Bytes from a fixed seed (xorshift32): the same "random" junk on every run. */
export function seededBytes(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** The first bytes a real TLS client sends (its ClientHello), caught by a plain TCP listener. */
export async function captureTlsClientHello(): Promise<Buffer> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const { port } = listener.address() as { port: number };
  const caught = once(listener, "connection").then(async ([socket]) => {
    const [hello] = (await once(socket as Socket, "data")) as [Buffer];
    (socket as Socket).destroy();
    return hello;
  });
  const tls = tlsConnect({ port, host: "127.0.0.1", servername: "localhost" });
  tls.on("error", () => {}); // the listener hangs up on it
  try {
    return await within(caught, "a TLS ClientHello");
  } finally {
    tls.destroy();
    listener.close();
  }
}

/** A client that sends `bytes` one at a time, every `everyMs`, and never anything else. */
export function dribble(
  port: number,
  bytes: string,
  everyMs: number,
): { closed: Promise<{ raw: string; elapsedMs: number }>; received: () => string } {
  const socket = connect(port, "127.0.0.1");
  const started = performance.now();
  let raw = "";
  let sent = 0;
  socket.setEncoding("latin1");
  socket.on("data", (data: string) => {
    raw += data;
  });
  socket.on("error", () => {});
  const timer = setInterval(() => {
    if (sent < bytes.length && socket.writable) socket.write(bytes[sent++]);
  }, everyMs);
  const closed = once(socket, "close").then(() => {
    clearInterval(timer);
    return { raw, elapsedMs: performance.now() - started };
  });
  return { closed, received: () => raw };
}
