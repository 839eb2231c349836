// The soak's clients, one function per kind. Each connects, checks that it got what the route
// sends (at least one message or event), holds the connection for its hold time, then leaves
// the way its plan says. Anything unexpected (a refused connection, a wrong status, no
// message in time, the server ending the connection first) rejects with a message that says
// what happened; errors a client causes itself by leaving abruptly are not errors.
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { EventSource } from "eventsource";
import { type Agent, fetch } from "undici";
import { WebSocket } from "ws";
import { SseParser } from "../src/testing/index.js";

export const CLIENT_KINDS = ["sse-topic", "sse-stream", "ndjson", "websocket", "json"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/**
 * How a client leaves: "clean" is what a well-behaved client does (EventSource.close(), a
 * fetch aborted, a WebSocket closing handshake with 1000); "destroy" closes the TCP socket
 * under the protocol (FIN, no close frame); "reset" aborts it with a RST.
 */
export const LEAVE_MODES = ["clean", "destroy", "reset"] as const;
export type LeaveMode = (typeof LEAVE_MODES)[number];

export interface ClientPlan {
  kind: ClientKind;
  leave: LeaveMode;
  holdMs: number;
}

export interface ClientEnvironment {
  /** The server's base URL, http://127.0.0.1:<port>. */
  url: string;
  /** The undici agent fetch and EventSource go through (closed after the churn). */
  dispatcher: Agent;
  /** Aborts when time is up: holds end at once. */
  stop: AbortSignal;
  /** How long a client waits for its connection and first message. */
  firstMessageTimeoutMs: number;
}

/** Told when a long-lived connection is established and when the client has left it. */
export interface ConnectionEvents {
  opened(): void;
  closed(): void;
}

export function runClient(
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  switch (plan.kind) {
    case "json":
      return jsonRequest(env);
    case "websocket":
      return webSocketClient(plan, env, events);
    case "sse-topic":
      return eventStreamClient("/events", isTick, plan, env, events);
    case "sse-stream":
      return eventStreamClient("/ticker", isNumbered, plan, env, events);
    case "ndjson":
      return ndjsonClient(plan, env, events);
  }
}

// --- checks on what arrived --------------------------------------------------------------

function isTick(data: unknown): boolean {
  return typeof (data as { tick?: unknown })?.tick === "number";
}

function isNumbered(data: unknown): boolean {
  return typeof (data as { n?: unknown })?.n === "number";
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

// --- helpers -------------------------------------------------------------------------------

/** Waits out the hold time, or less if time is up. */
function hold(ms: number, stop: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal: stop }).catch(() => {});
}

/**
 * A promise settled by `start(resolve, reject)`, rejected with `what` after `ms`; the function
 * `start` returns is called once it settles (to remove listeners).
 */
function expectWithin<T>(
  ms: number,
  what: string,
  start: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let cleanUp = () => {};
    const timer = setTimeout(
      () => settle(() => reject(new Error(`no ${what} within ${ms} ms`))),
      ms,
    );
    function settle(action: () => void) {
      clearTimeout(timer);
      cleanUp();
      action();
    }
    cleanUp = start(
      (value) => settle(() => resolve(value)),
      (error) => settle(() => reject(error)),
    );
  });
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const cause = error.cause instanceof Error ? ` (${describeError(error.cause)})` : "";
  return `${code ? `${code}: ` : ""}${error.message}${cause}`;
}

/** A socket closed from this side: with a FIN, or a RST. */
function leaveSocket(socket: Socket, leave: LeaveMode): void {
  if (leave === "reset") socket.resetAndDestroy();
  else socket.destroy();
}

// --- JSON ----------------------------------------------------------------------------------

async function jsonRequest(env: ClientEnvironment): Promise<void> {
  const response = await fetch(`${env.url}/hello`, {
    dispatcher: env.dispatcher,
    signal: AbortSignal.timeout(env.firstMessageTimeoutMs),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET /hello answered ${response.status}: ${text}`);
  const body = parseJson(text, "GET /hello's body") as { hello?: unknown };
  if (body.hello !== "soak") throw new Error(`GET /hello answered ${text}`);
}

// --- Server-Sent Events ----------------------------------------------------------------------

/** Clean leavers use the eventsource package (close()); the others a raw node:http request. */
function eventStreamClient(
  path: string,
  expected: (data: unknown) => boolean,
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  return plan.leave === "clean"
    ? eventSourceClient(path, expected, plan, env, events)
    : rawStreamClient(path, "text/event-stream", firstSseData(expected), plan, env, events);
}

async function eventSourceClient(
  path: string,
  expected: (data: unknown) => boolean,
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  const source = new EventSource(`${env.url}${path}`, {
    fetch: (url, init) => fetch(url, { ...init, dispatcher: env.dispatcher }),
  });
  let failure: string | undefined;
  source.addEventListener("error", (event) => {
    failure ??= `EventSource ${path} failed: ${event.message ?? "the stream ended"} (code ${event.code ?? "none"})`;
  });
  let opened = false;
  try {
    await expectWithin<void>(env.firstMessageTimeoutMs, `event from ${path}`, (resolve, reject) => {
      const onOpen = () => {
        opened = true;
        events.opened();
      };
      const onMessage = (event: MessageEvent) => {
        const data = parseJson(event.data, `an event's data from ${path}`);
        if (expected(data)) resolve();
        else reject(new Error(`unexpected event from ${path}: ${event.data}`));
      };
      const onError = () => reject(new Error(failure));
      source.addEventListener("open", onOpen);
      source.addEventListener("message", onMessage);
      source.addEventListener("error", onError);
      return () => {
        source.removeEventListener("open", onOpen);
        source.removeEventListener("message", onMessage);
        source.removeEventListener("error", onError);
      };
    });
    await hold(plan.holdMs, env.stop);
    if (failure) throw new Error(`${failure}, during the hold`);
  } finally {
    source.close();
    if (opened) events.closed();
  }
}

/** Resolves with true once the text so far holds a whole event the route should send. */
function firstSseData(expected: (data: unknown) => boolean): () => (chunk: Buffer) => boolean {
  return () => {
    const parser = new SseParser();
    return (chunk) => {
      for (const event of parser.push(chunk)) {
        const data = parseJson(event.data, "an event's data");
        if (!expected(data)) throw new Error(`unexpected event: ${event.data}`);
        return true;
      }
      return false;
    };
  };
}

function firstNdjsonLine(): (chunk: Buffer) => boolean {
  let text = "";
  return (chunk) => {
    text += chunk.toString("utf8");
    const end = text.indexOf("\n");
    if (end < 0) return false;
    const line = parseJson(text.slice(0, end), "an NDJSON line");
    if (!isNumbered(line)) throw new Error(`unexpected NDJSON line: ${text.slice(0, end)}`);
    return true;
  };
}

/**
 * A streaming GET on a connection of its own (node:http, no agent), left by destroying or
 * resetting its socket. `makeCheck()` gives a function fed each chunk until it returns true
 * (the first whole message has come); it throws on something unexpected.
 */
async function rawStreamClient(
  path: string,
  accept: string,
  makeCheck: () => (chunk: Buffer) => boolean,
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  const req = request(`${env.url}${path}`, { agent: false, headers: { accept } });
  let leaving = false;
  let endedEarly: string | undefined;
  let response: IncomingMessage | undefined;
  try {
    response = await responseHead(req, path, env.firstMessageTimeoutMs);
    events.opened();
    const ended = (what: string) => () => {
      if (!leaving) endedEarly ??= what;
    };
    response.on("end", ended("the server ended the response"));
    response.on("error", ended("the response was cut"));
    const check = makeCheck();
    await expectWithin<void>(
      env.firstMessageTimeoutMs,
      `message from ${path}`,
      (resolve, reject) => {
        const onData = (chunk: Buffer) => {
          try {
            if (check(chunk)) resolve();
          } catch (error) {
            reject(error as Error);
          }
        };
        const onClose = () => reject(new Error(`${path} ended before its first message`));
        response?.on("data", onData);
        response?.on("close", onClose);
        return () => {
          response?.off("data", onData);
          response?.off("close", onClose);
        };
      },
    );
    response.resume(); // keep reading (and discarding) during the hold
    await hold(plan.holdMs, env.stop);
    if (endedEarly) throw new Error(`${path}: ${endedEarly} during the hold`);
  } finally {
    leaving = true;
    const socket = response?.socket ?? req.socket;
    if (socket) leaveSocket(socket, plan.leave);
    req.destroy();
    if (response) events.closed();
  }
}

function responseHead(req: ClientRequest, path: string, timeoutMs: number) {
  return expectWithin<IncomingMessage>(
    timeoutMs,
    `response head for ${path}`,
    (resolve, reject) => {
      const onResponse = (response: IncomingMessage) => {
        if (response.statusCode === 200) {
          resolve(response);
          return;
        }
        reject(new Error(`GET ${path} answered ${response.statusCode}`));
      };
      const onError = (error: Error) => reject(new Error(`GET ${path}: ${describeError(error)}`));
      req.on("response", onResponse);
      req.on("error", onError);
      req.end();
      return () => {
        req.off("response", onResponse);
        // Errors after this point come from leaving abruptly, or are seen as an early end.
        req.off("error", onError);
        req.on("error", () => {});
      };
    },
  );
}

// --- NDJSON --------------------------------------------------------------------------------

function ndjsonClient(
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  return plan.leave === "clean"
    ? fetchedNdjsonClient(plan, env, events)
    : rawStreamClient("/feed", "application/x-ndjson", firstNdjsonLine, plan, env, events);
}

/** fetch through undici, left by aborting the request. */
async function fetchedNdjsonClient(
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(new Error("timed out")), env.firstMessageTimeoutMs);
  let opened = false;
  let reading: Promise<string | undefined> | undefined;
  try {
    const response = await fetch(`${env.url}/feed`, {
      dispatcher: env.dispatcher,
      signal: abort.signal,
    });
    if (response.status !== 200) throw new Error(`GET /feed answered ${response.status}`);
    if (!response.body) throw new Error("GET /feed has no body");
    opened = true;
    events.opened();
    const reader = response.body.getReader();
    const check = firstNdjsonLine();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("/feed ended before its first line");
      if (check(Buffer.from(value))) break;
    }
    clearTimeout(timeout);
    reading = drain(reader, abort.signal);
    await hold(plan.holdMs, env.stop);
  } catch (error) {
    throw new Error(`GET /feed (fetch): ${describeError(error)}`);
  } finally {
    clearTimeout(timeout);
    abort.abort();
    if (opened) events.closed();
  }
  const endedEarly = await reading;
  if (endedEarly) throw new Error(`GET /feed (fetch): ${endedEarly} during the hold`);
}

/** Reads to the end; resolves with what went wrong if the stream ended before `leave` aborted. */
async function drain(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  leave: AbortSignal,
): Promise<string | undefined> {
  try {
    while (!(await reader.read()).done) {}
    return leave.aborted ? undefined : "the server ended the response";
  } catch (error) {
    return leave.aborted ? undefined : describeError(error);
  }
}

// --- WebSocket -----------------------------------------------------------------------------

/**
 * Sends a message and waits for its echo and for a tick from the topic, holds, then closes
 * with 1000 (and waits for the server's close frame), or drops the TCP connection.
 */
async function webSocketClient(
  plan: ClientPlan,
  env: ClientEnvironment,
  events: ConnectionEvents,
): Promise<void> {
  const ws = new WebSocket(`${env.url.replace(/^http/, "ws")}/ws`, { perMessageDeflate: false });
  let socket: Socket | undefined;
  ws.once("upgrade", (response) => {
    socket = response.socket;
  });
  let leaving = false;
  let endedEarly: string | undefined;
  ws.on("error", () => {}); // reported through 'close' or the waits below
  ws.on("close", (code, reason) => {
    if (!leaving) endedEarly ??= `the server closed the WebSocket (${code} ${reason})`;
  });
  let opened = false;
  try {
    await expectWithin<void>(env.firstMessageTimeoutMs, "WebSocket open", (resolve, reject) => {
      const onError = (error: Error) => reject(new Error(`WebSocket: ${describeError(error)}`));
      const onUnexpected = (_: unknown, response: IncomingMessage) =>
        reject(new Error(`WebSocket upgrade answered ${response.statusCode}`));
      ws.once("open", resolve);
      ws.once("error", onError);
      ws.once("unexpected-response", onUnexpected);
      return () => {
        ws.off("open", resolve);
        ws.off("error", onError);
        ws.off("unexpected-response", onUnexpected);
      };
    });
    opened = true;
    events.opened();
    await echoAndTick(ws, env.firstMessageTimeoutMs);
    await hold(plan.holdMs, env.stop);
    if (endedEarly) throw new Error(`${endedEarly} during the hold`);
    leaving = true;
    if (plan.leave === "clean") await closeCleanly(ws, env.firstMessageTimeoutMs);
  } finally {
    leaving = true;
    if (ws.readyState !== WebSocket.CLOSED) {
      if (socket && plan.leave !== "clean") leaveSocket(socket, plan.leave);
      else ws.terminate();
    }
    if (opened) events.closed();
  }
}

function echoAndTick(ws: WebSocket, timeoutMs: number): Promise<void> {
  const probe = `echo ${Math.random()}`;
  return expectWithin<void>(timeoutMs, "echo and topic message", (resolve, reject) => {
    let echoed = false;
    let ticked = false;
    const onMessage = (data: Buffer, isBinary: boolean) => {
      const text = data.toString("utf8");
      if (!isBinary && text === probe) echoed = true;
      else if (!isBinary && text.startsWith("{")) {
        const frame = parseJson(text, "a topic frame") as { topic?: unknown; data?: unknown };
        if (frame.topic !== "ticks" || !isTick(frame.data)) {
          reject(new Error(`unexpected frame ${text.slice(0, 200)}`));
          return;
        }
        ticked = true;
      } else {
        reject(new Error(`unexpected message ${text.slice(0, 200)}`));
        return;
      }
      if (echoed && ticked) resolve();
    };
    const onClose = (code: number) => reject(new Error(`WebSocket closed (${code}) before echo`));
    ws.on("message", onMessage);
    ws.on("close", onClose);
    ws.send(probe);
    return () => {
      ws.off("message", onMessage);
      ws.off("close", onClose);
    };
  });
}

function closeCleanly(ws: WebSocket, timeoutMs: number): Promise<void> {
  return expectWithin<void>(timeoutMs, "close handshake", (resolve, reject) => {
    const onClose = (code: number) => {
      if (code === 1000) resolve();
      else reject(new Error(`the WebSocket closed with ${code}, not 1000`));
    };
    ws.on("close", onClose);
    ws.close(1000, "bye");
    return () => ws.off("close", onClose);
  });
}
