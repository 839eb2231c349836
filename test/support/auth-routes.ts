import type { Middleware, WebSocketOptions } from "../../src/index.js";
import { TestClient, WebSocketUpgradeError } from "../../src/testing/index.js";
import { quietApp } from "./apps.js";

/*
 * One app whose HTTP route, SSE route and WebSocket route each report `req.state.auth`, and
 * the same credentials tried on all three: how the auth middleware tests show that a
 * middleware guards every kind of route alike.
 */

/** What one attempt got: the status, the challenge, and on success what the handler saw. */
export interface Outcome {
  status: number;
  challenge: string | undefined;
  message?: string;
  auth?: unknown;
  protocol?: string;
}

export interface Credentials {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  protocols?: string[];
}

/** An app whose every kind of route reports `req.state.auth`, behind the given middleware. */
export async function serve(
  middleware: Middleware,
  ws: WebSocketOptions = { protocols: ["bearer"] },
) {
  const app = quietApp();
  app.use(middleware);
  app.get("/me", (req) => ({ auth: req.state.auth }));
  app.sse("/events", async function* (req) {
    yield { auth: req.state.auth };
  });
  app.websocket("/ws", ws, async (socket, req) => {
    await socket.sendJson({ auth: req.state.auth, protocol: socket.protocol });
    for await (const _ of socket);
  });
  return TestClient.start(app);
}

function withQuery(path: string, query: Record<string, string> | undefined): string {
  return query ? `${path}?${new URLSearchParams(query)}` : path;
}

export async function viaHttp(client: TestClient, credentials: Credentials): Promise<Outcome> {
  const response = await client.get(withQuery("/me", credentials.query), {
    headers: credentials.headers,
  });
  const body = response.json<{ auth?: unknown; message?: string }>();
  return {
    status: response.statusCode,
    challenge: response.headers["www-authenticate"],
    ...(response.statusCode === 200 ? { auth: body.auth } : { message: body.message }),
  };
}

export async function viaSse(client: TestClient, credentials: Credentials): Promise<Outcome> {
  const events = client.events(withQuery("/events", credentials.query), {
    headers: credentials.headers,
  });
  const head = await events.response;
  if (head.statusCode !== 200) {
    const body = JSON.parse(await head.text()) as { message: string };
    return {
      status: head.statusCode,
      challenge: head.headers["www-authenticate"],
      message: body.message,
    };
  }
  const [event] = await events.take(1);
  await events.close();
  return { status: 200, challenge: undefined, auth: JSON.parse(event.data).auth };
}

export async function viaWebSocket(client: TestClient, credentials: Credentials): Promise<Outcome> {
  try {
    const socket = await client.websocketConnect(withQuery("/ws", credentials.query), {
      headers: credentials.headers,
      protocols: credentials.protocols,
    });
    const hello = await socket.receiveJson<{ auth: unknown; protocol: string }>();
    await socket.close();
    return { status: 101, challenge: undefined, auth: hello?.auth, protocol: socket.protocol };
  } catch (error) {
    if (!(error instanceof WebSocketUpgradeError)) throw error;
    return {
      status: error.statusCode,
      challenge: error.headers["www-authenticate"] as string | undefined,
      message: error.json<{ message: string }>().message,
    };
  }
}

export const ways = [
  ["HTTP", viaHttp, 200],
  ["SSE", viaSse, 200],
  ["WebSocket upgrade", viaWebSocket, 101],
] as const;

/** The same credentials over HTTP, SSE and a WebSocket upgrade. */
export async function everyWay(client: TestClient, credentials: Credentials) {
  const outcomes: [string, Outcome, number][] = [];
  for (const [name, via, ok] of ways) outcomes.push([name, await via(client, credentials), ok]);
  return outcomes;
}
