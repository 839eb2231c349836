// docs/hub-deploy.md, tested: its nginx configuration (taken from the page's fenced block,
// with this run's ports and temp paths filled in) runs in a real nginx, terminating TLS in
// front of two `sluice hub` processes on one real redis-server. Through nginx: an SSE and a
// WebSocket subscriber get a publish at once, their streams still open (nothing buffered);
// when the hub they are on dies, they reconnect through the other and miss nothing published
// meanwhile; and what one hub stored is in the history read through the other.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { EventSource, type FetchLike } from "eventsource";
import { SignJWT } from "jose";
import { Agent, fetch as undiciFetch } from "undici";
import { WebSocket } from "ws";
import { connect, type Realtime, type WebSocketClass } from "../src/client/index.js";
import { HubProcess } from "./support/hub-process.js";
import { NginxProcess } from "./support/nginx-process.js";
import { outsideTool } from "./support/outside-tool.js";
import { freePort, RedisServer } from "./support/redis-server.js";
import { waitFor } from "./support/wait.js";

const GUIDE = resolve(import.meta.dirname, "../docs/hub-deploy.md");
const KEY = "publisher-key-for-the-nginx-test-0123";
const SECRET = "a-hub-secret-that-is-32-bytes-long!!";
const TOPIC = "news";
/** How soon a publish must reach a subscriber through nginx: at once, not when a buffer fills. */
const AT_ONCE_MS = 1000;

const nginxTool = outsideTool("nginx", "nginx");
const openssl = outsideTool("openssl", "openssl");
const redisTool = outsideTool("redis-server", "redis-server");

/** The guide's nginx block: the fenced `nginx` block that starts with the conf.d file's name. */
function guideConfig(): string {
  const blocks = [...readFileSync(GUIDE, "utf8").matchAll(/```nginx\n([\s\S]*?)```/g)];
  const block = blocks.map((match) => match[1]).find((text) => text.includes("sluice-hub.conf"));
  assert.ok(block, "docs/hub-deploy.md has a ```nginx block for conf.d/sluice-hub.conf");
  return block;
}

/** `text` with `from` replaced by `to`, which must occur (the guide may not drift silently). */
function fillIn(text: string, from: string | RegExp, to: string): string {
  const found = typeof from === "string" ? text.includes(from) : text.search(from) !== -1;
  assert.ok(found, `docs/hub-deploy.md's nginx block has ${String(from)}`);
  return text.replaceAll(from, to);
}

/** A gate a reconnect waits at, so that it happens after what the test does meanwhile. */
class Gate {
  #open!: () => void;
  readonly opened = new Promise<void>((resolveOpen) => {
    this.#open = resolveOpen;
  });
  open(): void {
    this.#open();
  }
}

interface Received {
  id: string;
  data: unknown;
  at: number;
}

/** An EventSource on /rt through nginx whose reconnects (its later fetches) wait at `gate`. */
class SseSubscriber {
  readonly received: Received[] = [];
  requests = 0;
  readonly source: EventSource;

  constructor(url: string, dispatcher: Agent, gate: Gate) {
    const gatedFetch = async (input: string | URL, init: object) => {
      if (++this.requests > 1) await gate.opened;
      return undiciFetch(input, { ...init, dispatcher });
    };
    this.source = new EventSource(url, { fetch: gatedFetch as unknown as FetchLike });
    this.source.addEventListener("message", (event) => {
      const envelope = JSON.parse(event.data) as { id: string; data: unknown };
      this.received.push({ id: envelope.id, data: envelope.data, at: performance.now() });
    });
  }

  get cut(): boolean {
    return this.requests > 1;
  }
}

/** A sluice/client connection through nginx whose reconnects wait at `gate` (in token()). */
class WsSubscriber {
  readonly received: Received[] = [];
  connects = 0;
  readonly rt: Realtime;

  constructor(url: string, WebSocketClass: WebSocketClass, token: string, gate: Gate) {
    this.rt = connect(url, {
      WebSocket: WebSocketClass,
      token: async () => {
        if (++this.connects > 1) await gate.opened;
        return token;
      },
      reconnect: { initialDelay: 100, maxDelay: 500 },
    });
    this.rt.subscribe(TOPIC, {}, (message) => {
      this.received.push({ id: message.id, data: message.data, at: performance.now() });
    });
  }

  get cut(): boolean {
    return this.connects > 1;
  }
}

describe("docs/hub-deploy.md: nginx in front of two hubs on one Redis", {
  skip: nginxTool.skip || openssl.skip || redisTool.skip,
}, () => {
  let redis: RedisServer;
  const hubs: HubProcess[] = [];
  let nginx: NginxProcess | undefined;
  let base = "";
  let dispatcher: Agent;
  const gate = new Gate();
  const sse: SseSubscriber[] = [];
  const ws: WsSubscriber[] = [];
  /** What was published, in order: its data and the id the hub answered. */
  const published: { id: string; data: unknown }[] = [];

  before(async () => {
    const nginxPath = nginxTool.require();
    openssl.require();
    redisTool.require();
    redis = await RedisServer.start();
    const hubArgs = ["--host", "127.0.0.1", "--port", "0", "--redis", redis.url];
    for (let i = 0; i < 2; i++) {
      hubs.push(await HubProcess.start([...hubArgs, "--publish-key", KEY, "--jwt-secret", SECRET]));
    }

    const dir = NginxProcess.makeDir();
    await promisify(execFile)(openssl.require(), [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
      ...["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1"],
      ...["-keyout", join(dir, "privkey.pem"), "-out", join(dir, "fullchain.pem")],
    ]);
    const ca = readFileSync(join(dir, "fullchain.pem"));
    const port = await freePort();
    let conf = guideConfig();
    conf = fillIn(conf, "hub-1.internal:8080", new URL(hubs[0].url).host);
    conf = fillIn(conf, "hub-2.internal:8080", new URL(hubs[1].url).host);
    conf = fillIn(conf, /listen 443 /g, `listen 127.0.0.1:${port} `);
    conf = fillIn(conf, "/etc/ssl/sluice-hub/", `${dir}/`);
    conf = fillIn(conf, "/var/log/nginx/", `${dir}/logs/`);
    nginx = await NginxProcess.start(nginxPath, dir, conf, port);
    base = `https://127.0.0.1:${port}`;

    dispatcher = new Agent({ connect: { ca } });
    class TrustingWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    }
    const token = await new SignJWT({ sub: "reader", topics: [TOPIC] })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(SECRET));
    // Two of each, opened one after the other: nginx's round robin puts one on each hub.
    for (let i = 0; i < 2; i++) {
      const subscriber = new SseSubscriber(
        `${base}/rt?topic=${TOPIC}&access_token=${token}`,
        dispatcher,
        gate,
      );
      sse.push(subscriber);
      await waitFor(() => subscriber.source.readyState === EventSource.OPEN, "SSE open", 10_000);
    }
    for (let i = 0; i < 2; i++) {
      const subscriber = new WsSubscriber(
        `${base.replace("https", "wss")}/rt`,
        TrustingWebSocket,
        token,
        gate,
      );
      ws.push(subscriber);
      await waitFor(() => subscriber.rt.state === "open", "WebSocket open", 10_000);
    }
  });

  after(async () => {
    gate.open();
    for (const subscriber of sse) subscriber.source.close();
    for (const subscriber of ws) subscriber.rt.close();
    await nginx?.stop();
    for (const hub of hubs) await hub.kill();
    await redis?.stop();
    await dispatcher?.close();
  });

  /** POST /publish to `url` (nginx, or a hub itself); the stored id. */
  async function publish(url: string, data: unknown): Promise<string> {
    const response = await undiciFetch(`${url}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ topic: TOPIC, data }),
      dispatcher,
    });
    const body = await response.text();
    assert.equal(response.status, 200, body);
    const { id } = JSON.parse(body) as { id: string };
    published.push({ id, data });
    return id;
  }

  const everyone = () => [...sse, ...ws];

  test("a publish through nginx reaches the SSE subscribers at once, their streams still open", async () => {
    const sent = performance.now();
    const id = await publish(base, { n: 1 });
    for (const subscriber of sse) {
      await waitFor(() => subscriber.received.length === 1, "the SSE subscriber's message", 5000);
      const [message] = subscriber.received;
      assert.equal(message.id, id);
      assert.ok(message.at - sent < AT_ONCE_MS, `arrived after ${message.at - sent} ms`);
      assert.equal(subscriber.source.readyState, EventSource.OPEN, "the stream is still open");
      assert.equal(
        subscriber.requests,
        1,
        `no reconnect: it came on the first stream\n${nginx?.stderr}`,
      );
    }
  });

  test("and the WebSocket subscribers (sluice/client connect()), on their first connection", async () => {
    const [first] = published;
    for (const subscriber of ws) {
      await waitFor(() => subscriber.received.length === 1, "the WebSocket message", 5000);
      assert.deepEqual(
        subscriber.received.map((message) => message.id),
        [first.id],
      );
      assert.equal(subscriber.rt.state, "open");
      assert.equal(subscriber.connects, 1, `no reconnect so far\n${nginx?.stderr}`);
    }
  });

  test("what one hub stored is in the history read from the other", async () => {
    const id = await publish(hubs[0].url, { n: 2, storedBy: "hub 1" });
    const response = await undiciFetch(`${hubs[1].url}/topics/${TOPIC}/history`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const { messages } = (await response.json()) as { messages: { id: string; data: unknown }[] };
    assert.deepEqual(
      messages.map((message) => message.id),
      published.map((message) => message.id),
    );
    assert.deepEqual(messages.at(-1), { id, event: "message", data: { n: 2, storedBy: "hub 1" } });
  });

  test("a hub dies: its subscribers reconnect through the other hub and miss nothing", async () => {
    for (const subscriber of everyone()) {
      await waitFor(() => subscriber.received.length === 2, "both messages so far", 5000);
    }
    await hubs[0].kill();
    // Published while the cut subscribers are away (their reconnects wait at the gate); nginx
    // passes each publish on to the live hub.
    // nginx's round robin put one subscriber of each kind on each hub (its error log, on
    // stderr, would say why not).
    await waitFor(
      () => sse.some((s) => s.cut) && ws.some((w) => w.cut),
      `an SSE and a WebSocket subscriber cut by the kill; nginx said:\n${nginx?.stderr}`,
      10_000,
    );
    await publish(base, { n: 3 });
    await publish(base, { n: 4 });
    gate.open();
    for (const subscriber of everyone()) {
      await waitFor(() => subscriber.received.length >= 4, "every message", 15_000);
    }
    // Both kinds had a subscriber on the dead hub (round robin), and one on the live one.
    assert.deepEqual(sse.map((s) => s.cut).sort(), [false, true]);
    assert.deepEqual(ws.map((w) => w.cut).sort(), [false, true]);
    await new Promise((r) => setTimeout(r, 200)); // a duplicate would have come by now
    for (const subscriber of everyone()) {
      assert.deepEqual(
        subscriber.received.map(({ id, data }) => ({ id, data })),
        published,
      );
    }
    // The message the dead hub stored, read through nginx (from the live hub).
    const response = await undiciFetch(`${base}/topics/${TOPIC}/history`, {
      headers: { authorization: `Bearer ${KEY}` },
      dispatcher,
    });
    const { messages } = (await response.json()) as { messages: { id: string }[] };
    assert.deepEqual(
      messages.map((message) => message.id),
      published.map((message) => message.id),
    );
  });

  test("/metrics is not served through nginx: nginx itself answers 404", async () => {
    const response = await undiciFetch(`${base}/metrics`, { dispatcher });
    const body = await response.text();
    assert.equal(response.status, 404);
    // nginx's own page, not a hub's answer (a hub's 404 would be JSON).
    assert.match(String(response.headers.get("content-type")), /^text\/html/);
    assert.match(body, /<center>nginx/);
  });
});
