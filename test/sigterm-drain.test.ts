/*
 * A rolling deploy under load: two instances of one app (test/fixtures/drain-server.ts, each
 * in its own process) share a real redis-server, behind a TCP load balancer that sends new
 * connections to A while A accepts them, else to B. SSE clients all start on A, messages are
 * published fast, and A gets SIGTERM mid-stream. A must drain (SSE streams end cleanly, a
 * plain stream is cut, producers stop, exit 0) and the clients must resume on B from their
 * Last-Event-ID without losing or repeating a message.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { request } from "node:http";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { after, describe, type TestContext, test } from "node:test";
import { type ErrorEvent, EventSource, type EventSourceFetchInit } from "eventsource";
import { App } from "../src/index.js";
import { redisBroker } from "../src/redis/index.js";
import { SseParser } from "../src/testing/index.js";
import { startExample } from "./support/example-process.js";
import { openSocket, portOf } from "./support/raw-http.js";
import { RedisServer } from "./support/redis-server.js";
import { sleep, waitFor, within } from "./support/wait.js";

const FIXTURE = "test/fixtures/drain-server.ts";
const CLOSE_TIMEOUT_MS = 5000;
/** A's plain-stream producer takes this long in its `finally`, so A visibly drains a while. */
const A_FINALLY_DELAY_MS = 1500;
const SSE_RETRY_MS = 200;
const EVENTSOURCE_CLIENTS = 80;
const HAND_WRITTEN_CLIENTS = 20;
const CLIENTS_ON_B = 10;
const PAYLOAD = "x".repeat(1000);
const PUBLISH_INTERVAL_MS = 2;
/** Published before SIGTERM, and again after every client is back, so both sides are busy. */
const MESSAGES_BEFORE_SIGNAL = 300;
const MESSAGES_AFTER_RESUME = 300;

const redis = await RedisServer.start();
after(() => redis.stop());

/** A fixture process: its exit, and the `{"fixture": ...}` lines it printed. */
class Instance {
  readonly exited: Promise<{ code: number | null; at: number }>;
  private output = "";

  constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => resolve({ code, at: performance.now() })),
    );
    child.stdout?.on("data", (data) => {
      this.output += data;
    });
  }

  static async start(t: TestContext, env: Record<string, string>): Promise<Instance> {
    const { child, url } = await startExample(t, FIXTURE, env);
    return new Instance(child, url);
  }

  get port(): number {
    return portOf(this.url);
  }

  count(report: string): number {
    return this.output.split("\n").filter((line) => line === `{"fixture":"${report}"}`).length;
  }
}

/**
 * A TCP load balancer: each new connection goes to A while A accepts connections; once A
 * refuses one, it and every later one go to B. A connection stays where it landed.
 */
class Balancer {
  readonly routed = { a: 0, b: 0, refusedByA: 0 };
  private aAccepts = true;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly aPort: number,
    private readonly bPort: number,
  ) {
    this.server = createServer((client) => this.route(client));
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, "close");
  }

  private route(client: Socket): void {
    this.track(client);
    client.pause(); // nothing is read until an instance takes the connection
    client.on("error", () => {});
    if (!this.aAccepts) {
      this.forward(client, this.bPort, "b");
      return;
    }
    const upstream = this.track(connect(this.aPort, "127.0.0.1"));
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      this.routed.a++;
      splice(client, upstream);
    });
    upstream.once("error", (error: NodeJS.ErrnoException) => {
      if (connected) return; // splice() handles errors from then on
      if (error.code === "ECONNREFUSED") {
        this.aAccepts = false;
        this.routed.refusedByA++;
        this.forward(client, this.bPort, "b");
      } else client.destroy();
    });
  }

  private forward(client: Socket, port: number, to: "b"): void {
    const upstream = this.track(connect(port, "127.0.0.1"));
    upstream.once("connect", () => {
      this.routed[to]++;
      splice(client, upstream);
    });
    upstream.once("error", () => client.destroy());
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    return socket;
  }
}

/** Pipes both ways; a clean close is passed on as a clean end, a reset as a reset. */
function splice(client: Socket, upstream: Socket): void {
  client.pipe(upstream);
  upstream.pipe(client);
  upstream.on("error", () => client.resetAndDestroy());
  upstream.once("close", () => client.end());
  client.once("close", () => upstream.destroy());
}

interface Received {
  seq: number;
  id: string;
}

/** What one SSE client saw, whatever its implementation. */
interface FeedClient {
  readonly name: string;
  readonly received: Received[];
  readonly warmedUp: boolean;
  readonly sawEnd: boolean;
  /** Status of each connection, in order. */
  readonly statuses: number[];
  /** The instance that answered each connection (its x-instance header), in order. */
  readonly instances: string[];
  /** The Last-Event-ID each connection sent (undefined: none), and the last id received then. */
  readonly resumes: { sent: string | undefined; lastReceived: string | undefined }[];
  /** Why the client gave up for good, if it did. */
  readonly gaveUp: string | undefined;
  close(): void;
}

/** Messages are `{"seq":n,...}`, warm-ups `{"warm":true}`, the end marker `{"end":true}`. */
function classify(data: string): { seq?: number; warm?: boolean; end?: boolean } {
  return JSON.parse(data) as { seq?: number; warm?: boolean; end?: boolean };
}

/** The `eventsource` package: reconnects by itself, sending Last-Event-ID. */
class EventSourceClient implements FeedClient {
  readonly received: Received[] = [];
  warmedUp = false;
  sawEnd = false;
  readonly statuses: number[] = [];
  readonly instances: string[] = [];
  readonly resumes: FeedClient["resumes"] = [];
  gaveUp: string | undefined;
  private readonly source: EventSource;

  constructor(
    readonly name: string,
    url: string,
  ) {
    this.source = new EventSource(url, { fetch: (input, init) => this.fetch(input, init) });
    this.source.addEventListener("message", (event) => {
      const message = classify(event.data);
      if (message.warm) this.warmedUp = true;
      else if (message.end) this.sawEnd = true;
      else this.received.push({ seq: message.seq as number, id: event.lastEventId });
    });
    this.source.addEventListener("error", (event) => {
      if (this.source.readyState === EventSource.CLOSED) {
        this.gaveUp = `closed: ${(event as ErrorEvent).code} ${(event as ErrorEvent).message}`;
      }
    });
  }

  close(): void {
    this.source.close();
  }

  private async fetch(input: string | URL, init: EventSourceFetchInit) {
    const sent = init.headers["Last-Event-ID"];
    this.resumes.push({ sent, lastReceived: this.received.at(-1)?.id });
    const response = await fetch(input, init);
    this.statuses.push(response.status);
    this.instances.push(response.headers.get("x-instance") ?? "?");
    return response;
  }
}

/**
 * A hand-written client over node:http (a new connection each time): on every end, cut or
 * clean, it reconnects after the server's retry delay with the last id it parsed.
 */
class NodeHttpClient implements FeedClient {
  readonly received: Received[] = [];
  warmedUp = false;
  sawEnd = false;
  readonly statuses: number[] = [];
  readonly instances: string[] = [];
  readonly resumes: FeedClient["resumes"] = [];
  gaveUp: string | undefined;
  private lastEventId = "";
  private retryMs = SSE_RETRY_MS;
  private stopped = false;
  private current: (() => void) | undefined;

  constructor(
    readonly name: string,
    private readonly url: string,
  ) {
    this.connect();
  }

  close(): void {
    this.stopped = true;
    this.current?.();
  }

  private connect(): void {
    const parser = new SseParser();
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.lastEventId !== "") headers["last-event-id"] = this.lastEventId;
    this.resumes.push({ sent: headers["last-event-id"], lastReceived: this.received.at(-1)?.id });
    const req = request(this.url, { headers, agent: false });
    this.current = () => req.destroy();
    let over = false;
    const reconnect = () => {
      if (over) return;
      over = true;
      if (!this.stopped && this.gaveUp === undefined)
        setTimeout(() => this.connect(), this.retryMs);
    };
    req.on("response", (response) => {
      this.statuses.push(response.statusCode ?? 0);
      this.instances.push(String(response.headers["x-instance"] ?? "?"));
      if (response.statusCode !== 200) {
        this.gaveUp = `status ${response.statusCode}`; // as EventSource does
        response.resume();
        return;
      }
      response.on("data", (chunk: Buffer) => {
        for (const event of parser.push(chunk)) this.onEvent(event.data, event.id);
        this.lastEventId = parser.lastEventId;
        this.retryMs = parser.reconnectionTime ?? this.retryMs;
      });
      response.on("close", reconnect);
    });
    req.on("error", reconnect);
    req.end();
  }

  private onEvent(data: string, id: string | undefined): void {
    const message = classify(data);
    if (message.warm) this.warmedUp = true;
    else if (message.end) this.sawEnd = true;
    else this.received.push({ seq: message.seq as number, id: id ?? "" });
  }
}

/** Publishes `{ seq, pad }` back to back, recording each publish that resolved, in order. */
class Publisher {
  readonly resolved: Received[] = [];
  private startedAt = 0;
  private stoppedAt = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly app: App) {}

  start(): void {
    this.startedAt = performance.now();
    this.loop = (async () => {
      for (let seq = 0; !this.stopping; seq++) {
        const id = await this.app.publish("feed", { seq, pad: PAYLOAD });
        this.resolved.push({ seq, id });
        await sleep(PUBLISH_INTERVAL_MS);
      }
    })();
    // A test that fails before stop() closes the app under the loop: its rejection is not
    // left unhandled on top of the real failure (stop() still reports it).
    this.loop.catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.stoppedAt = performance.now();
  }

  /** Messages per second while it ran. */
  rate(): number {
    return Math.round((this.resolved.length * 1000) / (this.stoppedAt - this.startedAt));
  }
}

/** Publishes warm-up messages until every client got one: from then on, each is live. */
async function warmUp(app: App, clients: FeedClient[]): Promise<void> {
  const started = performance.now();
  while (!clients.every((client) => client.warmedUp)) {
    if (performance.now() - started > 15_000) {
      const cold = clients.filter((client) => !client.warmedUp).map((client) => client.name);
      throw new Error(`clients never got a warm-up message: ${cold.join(", ")}`);
    }
    await app.publish("feed", { warm: true });
    await sleep(50);
  }
}

/**
 * GET /ticks on a raw socket: what arrived, and `closed`, which resolves once the connection
 * is gone with how it ended ("FIN" or the error's code, ECONNRESET for a reset).
 */
function openPlainStream(port: number) {
  const { socket, received } = openSocket(port);
  let ending = "FIN";
  socket.on("error", (error: NodeJS.ErrnoException) => {
    ending = error.code ?? error.message;
  });
  const closed = new Promise<string>((resolve) => socket.once("close", () => resolve(ending)));
  socket.write("GET /ticks HTTP/1.1\r\nHost: drain\r\n\r\n");
  return { received, closed };
}

/** Resolves with the error code of a fresh TCP connection to `port` ("connected" if it opened). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** How many clients had each sequence of (instance, status) connections, for a failure message. */
function landings(clients: FeedClient[]): string {
  const tally = new Map<string, number>();
  for (const client of clients) {
    const key = client.instances
      .map((instance, i) => `${instance}:${client.statuses[i]}`)
      .join(" > ");
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  return [...tally].map(([key, count]) => `${count} × ${key}`).join(", ");
}

/** The clients a wait is still waiting for, with what they saw, for a failure message. */
function describeStragglers(clients: FeedClient[], done: (client: FeedClient) => boolean): string {
  const stragglers = clients.filter((client) => !done(client));
  return stragglers
    .slice(0, 5)
    .map(
      (client) =>
        `${client.name} (statuses ${client.statuses}, attempts ${client.resumes.length}, gave up: ${client.gaveUp}, received ${client.received.length})`,
    )
    .join("; ")
    .concat(stragglers.length > 5 ? ` and ${stragglers.length - 5} more` : "");
}

function assertGotEverything(client: FeedClient, expected: Received[], mustHave: Received[]) {
  const seqs = client.received.map((message) => message.seq);
  const missing = mustHave.filter((message) => !seqs.includes(message.seq));
  assert.deepEqual(missing, [], `${client.name} lost messages published before the drain`);
  assert.deepEqual(
    seqs,
    expected.map((message) => message.seq),
    `${client.name}: every resolved message exactly once, in order`,
  );
  assert.deepEqual(
    client.received.map((message) => message.id),
    expected.map((message) => message.id),
    `${client.name}: with the ids the publishes resolved to`,
  );
}

describe("SIGTERM during heavy streaming", () => {
  test("A drains and exits 0; its SSE clients resume on B from Last-Event-ID and lose nothing", {
    timeout: 45_000,
  }, async (t) => {
    const prefix = `drain-${process.pid}:`;
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      CLOSE_TIMEOUT: String(CLOSE_TIMEOUT_MS),
      SSE_RETRY_MS: String(SSE_RETRY_MS),
    };
    const [a, b] = await Promise.all([
      Instance.start(t, { ...env, INSTANCE: "A", FINALLY_DELAY_MS: String(A_FINALLY_DELAY_MS) }),
      Instance.start(t, { ...env, INSTANCE: "B" }),
    ]);
    const balancer = new Balancer(a.port, b.port);
    const balancedUrl = await balancer.listen();
    const publisherApp = new App({
      logger: false,
      broker: redisBroker({ url: redis.url, prefix, history: 100_000 }),
    });
    const clients: FeedClient[] = [];
    t.after(async () => {
      for (const client of clients) client.close();
      await balancer.close();
      await publisherApp.close();
    });

    // A plain stream straight on A, to see how a drain ends it.
    const plain = openPlainStream(a.port);
    await waitFor(() => plain.received().includes("tick 2\n"), "A's plain stream to tick", 10_000);

    for (let i = 0; i < EVENTSOURCE_CLIENTS; i++) {
      clients.push(new EventSourceClient(`eventsource-${i}`, `${balancedUrl}/feed`));
    }
    for (let i = 0; i < HAND_WRITTEN_CLIENTS; i++) {
      clients.push(new NodeHttpClient(`node-http-${i}`, `${balancedUrl}/feed`));
    }
    const onB: FeedClient[] = [];
    for (let i = 0; i < CLIENTS_ON_B; i++) {
      onB.push(new EventSourceClient(`direct-on-b-${i}`, `${b.url}/feed`));
    }
    clients.push(...onB);
    const balanced = clients.filter((client) => !onB.includes(client));
    await warmUp(publisherApp, clients);
    assert.deepEqual(
      balancer.routed,
      { a: balanced.length, b: 0, refusedByA: 0 },
      "while A accepts, every balanced client lands on A",
    );

    const publisher = new Publisher(publisherApp);
    publisher.start();
    await waitFor(
      () => publisher.resolved.length >= MESSAGES_BEFORE_SIGNAL,
      "messages before the signal",
      15_000,
    );
    const resolvedBeforeSignal = [...publisher.resolved];
    const signalledAt = performance.now();
    a.child.kill("SIGTERM");

    // The drain has begun once A cut its plain stream: A now refuses new connections.
    const plainEnding = await within(plain.closed, "A to end its plain stream on SIGTERM", 5000);
    const probe = await tryConnect(a.port);
    const aStillDraining = a.child.exitCode === null;
    assert.equal(probe, "ECONNREFUSED", "a new connection to a draining A is refused");
    assert.ok(aStillDraining, "A was still draining (its producer's finally waits) at the probe");
    const raw = plain.received();
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /transfer-encoding: chunked/i);
    assert.ok(
      !raw.endsWith("\r\n0\r\n\r\n"),
      "the plain stream is cut without the chunked terminator: the client knows it is incomplete",
    );
    t.diagnostic(`A's plain stream: no chunked terminator, connection ended by ${plainEnding}`);

    const { code, at: exitedAt } = await within(a.exited, "A to exit", CLOSE_TIMEOUT_MS + 5000);
    const drainMs = exitedAt - signalledAt;
    t.diagnostic(`A exited ${Math.round(drainMs)} ms after SIGTERM`);
    assert.equal(code, 0, "A exits 0 after a graceful drain");
    assert.ok(drainMs < CLOSE_TIMEOUT_MS + 2000, `A drained within its closeTimeout (${drainMs})`);
    assert.ok(a.count("producer-started") >= 1);
    assert.equal(
      a.count("producer-finished"),
      a.count("producer-started"),
      "every producer A started ran its finally: none was left running",
    );

    // Every balanced client comes back, on B, and A's refusal is what sent it there.
    await waitFor(
      () => balanced.every((client) => client.statuses.length >= 2),
      "every balanced client to reconnect",
      15_000,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}: ${describeStragglers(balanced, (c) => c.statuses.length >= 2)}`,
      );
    });
    const reconnectedAt = publisher.resolved.length;
    await waitFor(
      () => publisher.resolved.length >= reconnectedAt + MESSAGES_AFTER_RESUME,
      "messages after the clients resumed",
      15_000,
    );
    await publisher.stop();
    await publisherApp.publish("feed", { end: true });
    await waitFor(
      () => clients.every((client) => client.sawEnd || client.gaveUp !== undefined),
      "every client to reach the end marker",
      20_000,
    );
    t.diagnostic(
      `${publisher.resolved.length} messages of ~1 KB at ${publisher.rate()}/s (${resolvedBeforeSignal.length} before SIGTERM) to ${clients.length} SSE clients; balancer: ${JSON.stringify(balancer.routed)}`,
    );

    const gaveUp = balanced.filter((client) => client.gaveUp !== undefined);
    assert.equal(
      gaveUp.length,
      0,
      `${gaveUp.length} of ${balanced.length} clients gave up (${gaveUp[0]?.name}: ${gaveUp[0]?.gaveUp}); their connections (instance:status): ${landings(balanced)}`,
    );
    assert.ok(balancer.routed.refusedByA >= 1, "A refused the first reconnections");
    assert.equal(balancer.routed.a, balanced.length, "no connection landed on A after the signal");
    for (const client of balanced) {
      assert.ok(
        client.statuses.every((status) => status === 200),
        `${client.name}: every connection answered 200 (${client.statuses})`,
      );
      const [first, ...later] = client.instances;
      assert.equal(first, "A", `${client.name} started on A`);
      assert.ok(later.length >= 1, `${client.name} reconnected`);
      assert.ok(
        later.every((instance) => instance === "B"),
        `${client.name} resumed on B (${client.instances})`,
      );
      assert.equal(client.resumes[0]?.sent, undefined, `${client.name} first came without an id`);
      for (const resume of client.resumes.slice(1)) {
        assert.notEqual(resume.sent, undefined, `${client.name} resumed with a Last-Event-ID`);
        assert.equal(resume.sent, resume.lastReceived, `${client.name} resumed from its last id`);
      }
      assertGotEverything(client, publisher.resolved, resolvedBeforeSignal);
    }
    for (const client of onB) {
      assert.equal(client.gaveUp, undefined, `${client.name} never gave up`);
      assert.deepEqual(client.statuses, [200], `${client.name} was never disconnected`);
      assertGotEverything(client, publisher.resolved, resolvedBeforeSignal);
    }
    assert.equal(b.child.exitCode, null, "B is still running");
  });

  test("a second SIGTERM while draining exits 1 at once", { timeout: 30_000 }, async (t) => {
    const drainFor = 5000;
    const server = await Instance.start(t, {
      REDIS_URL: "", // the memory broker: this test needs no Redis
      FINALLY_DELAY_MS: String(drainFor),
      CLOSE_TIMEOUT: String(drainFor * 2),
    });
    const plain = openPlainStream(server.port);
    await waitFor(() => plain.received().includes("tick 2\n"), "the plain stream to tick", 10_000);

    server.child.kill("SIGTERM");
    await within(plain.closed, "the drain to cut the plain stream", 5000);
    assert.equal(server.child.exitCode, null, "the first SIGTERM drains: the producer still runs");
    const secondAt = performance.now();
    server.child.kill("SIGTERM");
    const { code, at } = await within(server.exited, "the exit after a second SIGTERM", 5000);
    t.diagnostic(`exited ${Math.round(at - secondAt)} ms after the second SIGTERM`);
    assert.equal(code, 1, "a second signal gives up on the drain: exit 1");
    assert.ok(
      at - secondAt < drainFor / 2,
      `it exits at once, not after the drain (${at - secondAt})`,
    );
    assert.equal(server.count("producer-finished"), 0, "the producer's finally did not get to end");
  });
});
