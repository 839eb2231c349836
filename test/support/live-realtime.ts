// Clients of the live demo's real-time endpoint (examples/live/realtime.ts), for its tests:
// `connect()` from sluice/client on `ws`, signed in with the session cookie, and a raw
// socket that speaks the protocol frame by frame.
import type { TestContext } from "node:test";
import { WebSocket } from "ws";
import { REALTIME_PATH } from "../../examples/live/realtime.js";
import {
  type ConnectOptions,
  connect,
  type Realtime,
  type RealtimeMessage,
  type SubscribeOptions,
  type Subscription,
  type WebSocketClass,
} from "../../src/client/index.js";
import type { TestClient, TestWebSocket } from "../../src/testing/index.js";
import { WebSocketUpgradeError } from "../../src/testing/index.js";
import { waitFor, within } from "./wait.js";

/** ws's class, sending `headers` (the session cookie) with every handshake. */
export function webSocketWith(headers: Record<string, string>): WebSocketClass {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  } as unknown as WebSocketClass;
}

export function realtimeUrl(client: TestClient): string {
  return `${client.url.replace(/^http/, "ws")}${REALTIME_PATH}`;
}

/** A client of the app's endpoint, signed in with `cookie`, closed after the test. */
export function liveConnect(
  t: TestContext,
  client: TestClient,
  cookie: string,
  options: ConnectOptions = {},
): Realtime {
  const rt = connect(realtimeUrl(client), {
    WebSocket: webSocketWith({ cookie }),
    reconnect: { initialDelay: 50, maxDelay: 500 },
    ...options,
  });
  t.after(() => rt.close());
  return rt;
}

/** Resolves when `rt` reaches `state` (at once if it is there). */
export function stateOf(rt: Realtime, state: Realtime["state"], what = state): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      if (rt.state === state) return resolve();
      const off = rt.on("state", (now) => {
        if (now !== state) return;
        off();
        resolve();
      });
    }),
    `the client to be ${what}`,
  );
}

/** A subscription whose messages are kept, in the order they came. */
export interface Followed<T> {
  subscription: Subscription<T>;
  messages: RealtimeMessage<T>[];
  /** Waits until `count` messages came; returns them all. */
  atLeast(count: number, what?: string): Promise<RealtimeMessage<T>[]>;
  /** Waits until the last message's data passes `match`. */
  until(match: (data: T) => boolean, what: string): Promise<RealtimeMessage<T>>;
}

export function follow<T = unknown>(
  rt: Realtime,
  topic: string,
  options: SubscribeOptions = {},
): Followed<T> {
  const messages: RealtimeMessage<T>[] = [];
  const subscription = rt.subscribe<T>(topic, options, (message) => {
    messages.push(message);
  });
  return {
    subscription,
    messages,
    async atLeast(count, what = `${count} messages of ${topic}`) {
      await waitFor(() => messages.length >= count, what, 5000);
      return messages;
    },
    async until(match, what) {
      await waitFor(() => messages.length > 0 && match(messages.at(-1)!.data), what, 5000);
      return messages.at(-1)!;
    },
  };
}

/** A frame the endpoint sends, loosely typed for assertions. */
export interface Frame {
  type?: string;
  ref?: number | string | null;
  ok?: boolean;
  result?: unknown;
  error?: { code: string; message: string };
  topic?: string;
  id?: string;
  event?: string;
  data?: unknown;
  reason?: string;
}

/** A raw socket on the endpoint, after its welcome frame. */
export async function rawRealtime(
  client: TestClient,
  headers: Record<string, string>,
  query = "",
): Promise<TestWebSocket> {
  const ws = await client.websocketConnect(`${REALTIME_PATH}${query}`, {
    headers,
    protocols: ["sluice.v1"],
  });
  const welcome = await within(ws.receiveJson<Frame>(), "the welcome frame");
  if (welcome?.type !== "welcome")
    throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
  return ws;
}

/** Reads frames until the reply to `ref` (any other frame is skipped). */
export async function replyTo(ws: TestWebSocket, ref: number | string | null): Promise<Frame> {
  return within(
    (async () => {
      for (;;) {
        const frame = await ws.receiveJson<Frame>();
        if (frame === undefined) throw new Error(`The socket closed before the reply to ${ref}`);
        if (frame.type === "reply" && frame.ref === ref) return frame;
      }
    })(),
    `the reply to ${ref}`,
  );
}

/**
 * What an attempt to open the endpoint ends with: 101 when it is let in (its welcome came),
 * the close code when it is accepted and closed at once (a refusal by middleware: 4401...),
 * or the status of a refused upgrade.
 */
export async function upgradeOutcome(
  client: TestClient,
  path: string,
  headers: Record<string, string>,
): Promise<number> {
  try {
    const ws = await client.websocketConnect(path, { headers, protocols: ["sluice.v1"] });
    const first = await within(ws.receiveJson<Frame>(), `the first frame on ${path}`);
    if (first?.type === "welcome") {
      await ws.close();
      return 101;
    }
    return (await within(ws.closed, `the close on ${path}`)).code;
  } catch (error) {
    if (error instanceof WebSocketUpgradeError) return error.statusCode;
    throw error;
  }
}
