// A user's project, fresh: ESM, strict TypeScript on NodeNext, and `skipLibCheck: false`, so
// the compiler checks every declaration file sluice ships and everything those reach. Its
// sources use each entry point as a user would; they are kept as text here because they must
// compile against the installed tarball, never against this repository's sources.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type CommandResult, describeRun, runCommand } from "./command.js";

const PACKAGE_JSON = {
  name: "packed-consumer",
  version: "1.0.0",
  private: true,
  type: "module",
};

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: "NodeNext",
    moduleResolution: "NodeNext",
    skipLibCheck: false,
    // What many strict projects add: typed params must need no "!" under it.
    noUncheckedIndexedAccess: true,
    rootDir: "src",
    outDir: "out",
  },
  include: ["src"],
};

/** Imports each entry point and prints what happened; run before the peers are installed. */
const MISSING_PEERS = `for (const entry of ["sluice", "sluice/testing", "sluice/redis", "sluice/jwt", "sluice/client"]) {
  try {
    await import(entry);
    console.log(entry + ": loaded");
  } catch (error) {
    console.log(entry + ": " + error.message);
  }
}
`;

const APP = `import {
  App,
  bearerAuth,
  type DeflateOptions,
  HttpError,
  type KeepOpen,
  type ListenOptions,
  type PathParams,
  SseEvent,
  type SluiceRequest,
} from "sluice";

export const h2c: ListenOptions = { http2: "cleartext", http2WebSockets: true };

interface User {
  name: string;
}

const compression: DeflateOptions = { threshold: 0, serverNoContextTakeover: true };

async function* ticks(_req: SluiceRequest) {
  for (let n = 1; n <= 3; n++) yield new SseEvent({ event: "tick", id: n, data: { n } });
}

export const closed: string[] = [];

export function makeApp(): App {
  const app = new App({ logger: false });
  app.get("/hello/:name", (req) => ({ hello: req.params.name }));
  app.get("/teapot", () => {
    throw new HttpError(418, "short and stout");
  });
  app.sse("/ticks", ticks);
  app.websocket("/echo", { compression }, async (socket) => {
    for await (const message of socket) await socket.send(message);
  });
  app.websocket("/news", async (socket): Promise<KeepOpen> => {
    await socket.subscribe("news");
    return socket.keepOpen();
  });
  // Route-scoped middleware, a group, params typed from the path, the principal's type.
  const verify = (token: string): User | undefined => (token === "t-ada" ? { name: "ada" } : undefined);
  app.group("/admin", (admin) => {
    admin.use(bearerAuth<User>({ verify })).get("/users/:id", (req) => {
      const id: string = req.params.id;
      const by: string = req.state.auth.name;
      return { id, by };
    });
  });
  const params: PathParams<"/files/*"> = { "*": "a/b" };
  app.get("/files/*", (req) => ({ rest: req.params["*"], same: params["*"] === "a/b" }));
  app.onClose(() => {
    closed.push("onClose ran");
  });
  return app;
}
`;

const MAIN = `import assert from "node:assert/strict";
import { closed, makeApp } from "./app.js";

const app = makeApp();
const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
try {
  const hello = await fetch(url + "/hello/packed");
  assert.equal(hello.status, 200);
  assert.deepEqual(await hello.json(), { hello: "packed" });
  const refused = await fetch(url + "/admin/users/7");
  assert.equal(refused.status, 401);
  const admin = await fetch(url + "/admin/users/7", { headers: { authorization: "Bearer t-ada" } });
  assert.deepEqual(await admin.json(), { id: "7", by: "ada" });
  const teapot = await fetch(url + "/teapot");
  assert.equal(teapot.status, 418);
  const ticks = await fetch(url + "/ticks", { headers: { accept: "text/event-stream" } });
  assert.match(ticks.headers.get("content-type") ?? "", /^text\\/event-stream/);
  const stream = await ticks.text();
  for (const n of [1, 2, 3]) assert.ok(stream.includes('data: {"n":' + n + "}"), stream);
} finally {
  await app.close();
}
assert.deepEqual(closed, ["onClose ran"]);
console.log("sluice: ok");
`;

const TESTING = `import assert from "node:assert/strict";
import { type RawWebSocket, TestClient } from "sluice/testing";
import { makeApp } from "./app.js";

const client = await TestClient.start(makeApp());
try {
  const hello = await client.get("/hello/tests");
  assert.equal(hello.statusCode, 200);
  assert.deepEqual(hello.json(), { hello: "tests" });
  const events = await client.events("/ticks").take(3);
  assert.deepEqual(
    events.map((event) => [event.event, event.id, event.data]),
    [["tick", "1", '{"n":1}'], ["tick", "2", '{"n":2}'], ["tick", "3", '{"n":3}']],
  );
  const socket = await client.websocketConnect("/echo");
  const raw: RawWebSocket = socket.raw;
  assert.equal(raw.readyState, raw.OPEN);
  assert.match(socket.extensions, /permessage-deflate/);
  await socket.send("hi");
  assert.equal(await socket.receive(), "hi");
  await socket.sendJson({ echo: true });
  assert.deepEqual(await socket.receiveJson(), { echo: true });
  assert.equal((await socket.close(1000, "done")).code, 1000);
  const news = await client.websocketConnect("/news");
  assert.equal(typeof news.headers["x-request-id"], "string");
  await news.close();
} finally {
  await client.close();
}
const h2 = await TestClient.start(makeApp(), { http2: true });
try {
  const socket = await h2.websocketConnect("/echo");
  await socket.send("over h2");
  assert.equal(await socket.receive(), "over h2");
  await socket.close();
} finally {
  await h2.close();
}
console.log("sluice/testing: ok");
`;

const REDIS = `import assert from "node:assert/strict";
import { App } from "sluice";
import { type RedisClientOptions, redisBroker } from "sluice/redis";

const url = process.env.REDIS_URL;
assert.ok(url, "REDIS_URL is set");
const redis: RedisClientOptions = {
  connectionName: "packed-consumer",
  retryStrategy: (times) => Math.min(times * 100, 1000),
};
const broker = redisBroker({ url, redis, prefix: "packed:" + process.pid + ":", history: 10 });
const app = new App({ logger: false, broker });
try {
  const id = await app.publish("room", { text: "hello" });
  const [message] = await app.history("room");
  assert.equal(message?.id, id);
  assert.deepEqual(message?.data, { text: "hello" });
} finally {
  await app.close();
}
console.log("sluice/redis: ok");
`;

const JWT = `import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { App } from "sluice";
import { type JWTPayload, jwtAuth } from "sluice/jwt";
import { TestClient } from "sluice/testing";

const secret = "a secret of at least thirty-two bytes";
const app = new App({ logger: false });
app.use(jwtAuth({ secret, algorithms: ["HS256"], issuer: "packed" }));
app.get("/me", (req) => req.state.auth as JWTPayload);
const token = await new SignJWT({ sub: "alice" })
  .setProtectedHeader({ alg: "HS256" })
  .setIssuer("packed")
  .setExpirationTime("5m")
  .sign(new TextEncoder().encode(secret));
const client = await TestClient.start(app);
try {
  const me = await client.get("/me", { headers: { authorization: "Bearer " + token } });
  assert.equal(me.statusCode, 200);
  assert.equal(me.json<JWTPayload>().sub, "alice");
  const forged = await client.get("/me", { headers: { authorization: "Bearer " + token + "x" } });
  assert.equal(forged.statusCode, 401);
} finally {
  await client.close();
}
console.log("sluice/jwt: ok");
`;

/**
 * sluice/client in Node: fetchEvents() on the app's SSE route, and connect() with ws's class
 * (a dependency of sluice, so installed) to a route that is no real-time endpoint: the
 * handshake fails, and with reconnect off the client ends closed. ws is loaded by a name
 * typed as string, so that the program does not reach @types/ws (the test checks that).
 */
const CLIENT = `import assert from "node:assert/strict";
import {
  type CloseInfo,
  connect,
  EventStreamError,
  fetchEvents,
  RealtimeError,
  type WebSocketClass,
} from "sluice/client";
import { makeApp } from "./app.js";

const app = makeApp();
const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
try {
  const ticks: string[] = [];
  for await (const event of fetchEvents(url + "/ticks", { reconnect: false })) ticks.push(event.data);
  assert.deepEqual(ticks, ['{"n":1}', '{"n":2}', '{"n":3}']);
  await assert.rejects(
    (async () => {
      for await (const _ of fetchEvents(url + "/hello/x", { reconnect: false })) break;
    })(),
    EventStreamError,
  );
  const wsModule: string = "ws";
  const { WebSocket } = (await import(wsModule)) as { WebSocket: WebSocketClass };
  const rt = connect(url.replace("http", "ws") + "/echo", { WebSocket, reconnect: false });
  const closed = await new Promise<CloseInfo>((resolve) => rt.on("close", resolve));
  assert.equal(closed.reconnecting, false);
  assert.equal(rt.state, "closed");
  await assert.rejects(rt.publish("t", 1), RealtimeError);
} finally {
  await app.close();
}
console.log("sluice/client: ok");
`;

/** A browser-only project: the DOM's types and no Node types, as a web app's tsconfig has. */
const BROWSER_TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: "ES2022",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    types: [],
    module: "ESNext",
    moduleResolution: "Bundler",
    skipLibCheck: false,
    noEmit: true,
  },
  include: ["browser"],
};

const BROWSER_PAGE = `import { connect, fetchEvents, RealtimeError, type RealtimeMessage } from "sluice/client";

const rt = connect("wss://" + location.host + "/rt", {
  token: () => localStorage.getItem("token"),
  // The DOM's own class fits the structural type connect() asks for.
  WebSocket,
});
rt.on("state", (state) => {
  document.title = state;
});
const sub = rt.subscribe<{ text: string }>("chat:lobby", { replay: 20 }, (message: RealtimeMessage<{ text: string }>) => {
  document.body.append(message.data.text);
});
sub.on("reset", (reset) => console.log(reset.reason, reset.since));
sub.ready.catch((error: unknown) => {
  if (error instanceof RealtimeError && error.code === "forbidden") console.log("refused");
});
const id: Promise<string> = rt.publish("chat:lobby", { text: "hi" }, { event: "message" });
const controller = new AbortController();
for await (const event of fetchEvents("/rt?topic=news", { signal: controller.signal, headers: { authorization: "Bearer x" } })) {
  console.log(event.event, event.id, event.data, event.retry, await id);
}
export {};
`;

/**
 * Typed contracts as a user writes them, against the installed declarations: each surface
 * typed from one zod schema (the wrong usages marked @ts-expect-error, so tsc fails if one
 * compiles), then run: a refused body, a typed WebSocket, a checked topic, and the
 * real-time endpoint with a client typed by connect<typeof contract>().
 */
const CONTRACT = `import assert from "node:assert/strict";
import { App, ValidationError } from "sluice";
import { connect, defineContract, RealtimeError, type WebSocketClass } from "sluice/client";
import { z } from "zod";

const Message = z.object({ text: z.string().min(1) });
export const contract = defineContract({
  topics: { "room:*": Message },
  methods: { add: { params: z.object({ a: z.number(), b: z.number() }), result: z.number() } },
});

const app = new App({ logger: false })
  .topic("news", { schema: Message })
  .post("/notes/:id", { params: z.object({ id: z.coerce.number() }), body: Message }, (req) => {
    const id: number = req.params.id;
    // @ts-expect-error: a wrong field name
    req.body.txt;
    return { id, text: req.body.text };
  })
  .websocket("/shout", { message: Message, send: Message }, async (socket) => {
    for await (const message of socket) {
      // @ts-expect-error: the message has no such field
      message.txt;
      await socket.send({ text: message.text.toUpperCase() });
    }
  });
app.realtime("/rt", {
  contract,
  subscribe: ["room:*"],
  publish: ["room:*"],
  methods: { add: ({ a, b }) => a + b },
});
// @ts-expect-error: the topic's data is { text }
void app.publish("news", { txt: "x" }).catch(() => {});

const { url } = await app.listen({ port: 0, host: "127.0.0.1" });
try {
  const refused = await fetch(url + "/notes/x", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(refused.status, 400);
  assert.equal(refused.headers.get("content-type"), "application/problem+json");
  await assert.rejects(app.publish("news", { text: "" }), ValidationError);

  const wsModule: string = "ws";
  const { WebSocket } = (await import(wsModule)) as { WebSocket: WebSocketClass };
  const rt = connect<typeof contract>(url.replace("http", "ws") + "/rt", { WebSocket });
  // @ts-expect-error: no such topic in the contract
  rt.subscribe("lobby");
  // @ts-expect-error: no such method
  void rt.call("sub", { a: 1, b: 2 }).catch(() => {});
  const sum: number = await rt.call("add", { a: 2, b: 3 });
  assert.equal(sum, 5);
  const room = rt.subscribe("room:lobby");
  await room.ready;
  await rt.publish("room:lobby", { text: "hi" });
  const first = await room[Symbol.asyncIterator]().next();
  const text: string | undefined = first.value?.data.text;
  assert.equal(text, "hi");
  await assert.rejects(
    rt.publish("room:lobby", { text: "" }),
    (error: unknown) => error instanceof RealtimeError && error.code === "invalid",
  );
  rt.close();
} finally {
  await app.close();
}
console.log("sluice contracts: ok");
`;

/** The same contract in a browser-only project: zod and sluice/client, no Node types. */
const BROWSER_CONTRACT = `import { connect, defineContract } from "sluice/client";
import { z } from "zod";

const contract = defineContract({ topics: { "room:*": z.object({ text: z.string() }) } });
const rt = connect<typeof contract>("wss://" + location.host + "/rt", { WebSocket });
for await (const message of rt.subscribe("room:lobby")) document.body.append(message.data.text);
// @ts-expect-error: { text } is what room topics take
await rt.publish("room:lobby", { body: "x" });
export {};
`;

const FILES: Record<string, string> = {
  "package.json": `${JSON.stringify(PACKAGE_JSON, null, 2)}\n`,
  "tsconfig.json": `${JSON.stringify(TSCONFIG, null, 2)}\n`,
  "missing-peers.mjs": MISSING_PEERS,
  "src/app.ts": APP,
  "src/main.ts": MAIN,
  "src/testing.ts": TESTING,
  "src/redis.ts": REDIS,
  "src/jwt.ts": JWT,
  "src/client.ts": CLIENT,
  "src/contract.ts": CONTRACT,
  "tsconfig.browser.json": `${JSON.stringify(BROWSER_TSCONFIG, null, 2)}\n`,
  "browser/page.ts": BROWSER_PAGE,
  "browser/contract.ts": BROWSER_CONTRACT,
};

/** Writes the project into `dir` (an empty directory). */
export function writeConsumerProject(dir: string): void {
  for (const [file, text] of Object.entries(FILES)) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

/**
 * `npm install` in the project, from npm's cache when it has the packages (`npm ci` on this
 * repository fills it with every version named below): bounded, and asserted to succeed.
 */
export async function npmInstall(dir: string, specs: readonly string[]): Promise<void> {
  const args = ["install", "--prefer-offline", "--no-audit", "--no-fund", ...specs];
  const install = await runCommand("npm", args, { cwd: dir, timeout: 240_000 });
  assert.equal(install.code, 0, describeRun(`npm ${args.join(" ")}`, install));
}

/** `name@version` as this repository has it installed, so that npm's cache has the tarball. */
export function sameVersionAs(root: string, name: string): string {
  const manifest = join(root, "node_modules", name, "package.json");
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  return `${name}@${version}`;
}

/** Runs the project's `tsc` (it compiles to out/), listing every file of the program. */
export function compileConsumer(dir: string): Promise<CommandResult> {
  const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
  return runCommand(process.execPath, [tsc, "-p", ".", "--listFiles"], {
    cwd: dir,
    timeout: 180_000,
  });
}

/** Type-checks the browser-only part of the project (tsconfig.browser.json), listing its files. */
export function compileBrowserConsumer(dir: string): Promise<CommandResult> {
  const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
  return runCommand(process.execPath, [tsc, "-p", "tsconfig.browser.json", "--listFiles"], {
    cwd: dir,
    timeout: 180_000,
  });
}

/** Runs a script of the project with plain node, as its user would. */
export function runConsumer(
  dir: string,
  script: string,
  env?: Record<string, string>,
): Promise<CommandResult> {
  return runCommand(process.execPath, [script], { cwd: dir, timeout: 60_000, env });
}
