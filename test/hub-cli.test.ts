// `sluice hub` run as users run it, in its own process (src/hub/bin.ts): the help, the exit
// codes of bad input, /healthz on the memory broker and on a real redis-server (503 once it
// is stopped), /rt's subscribers authorised by their JWT's topics claim within --topics (a
// real EventSource-like SSE client and sluice/client's connect()), and the SIGTERM drain.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { connect, type Realtime } from "../src/client/index.js";
import { HUB_SETTINGS } from "../src/hub/hub-settings.js";
import { type SseMessage, SseParser } from "../src/sse/sse-parser.js";
import { HubProcess, runSluice } from "./support/hub-process.js";
import { SECRET, signToken } from "./support/jwt-tokens.js";
import { RedisServer } from "./support/redis-server.js";
import { eventually, waitFor, within } from "./support/wait.js";

const KEY = "0123456789abcdef-publish-key";

const noRedis = spawnSync("redis-server", ["--version"]).error
  ? "redis-server is not installed (apt-get install redis-server)"
  : false;

/** A token for `sub` granting these topics, valid for an hour. */
async function tokenFor(topics: unknown, sub = "ada"): Promise<string> {
  const { token } = await signToken({ sub, topics, exp: Math.ceil(Date.now() / 1000) + 3600 });
  return token;
}

/** An SSE request on /rt, read as it comes: once it resolves, the topics are followed. */
interface Stream {
  readonly status: number;
  readonly headers: Headers;
  readonly events: SseMessage[];
  /** The data of its `message` events. */
  readonly messages: unknown[];
  /** Resolves when the server ends the stream (or close() does). */
  readonly ended: Promise<void>;
  close(): void;
}

async function openStream(url: string, query: string, token?: string): Promise<Stream> {
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (token) headers.authorization = `Bearer ${token}`;
  const controller = new AbortController();
  const response = await fetch(`${url}/rt?${query}`, { headers, signal: controller.signal });
  const parser = new SseParser();
  const events: SseMessage[] = [];
  const ended = (async () => {
    try {
      for await (const chunk of response.body ?? []) events.push(...parser.push(chunk));
    } catch {} // aborted by close()
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    get messages() {
      return events.filter((event) => event.event === "message").map((e) => JSON.parse(e.data));
    },
    ended,
    close: () => controller.abort(),
  };
}

/** The answer to an SSE request on /rt, its stream closed at once. */
async function sseStatus(url: string, query: string, token?: string): Promise<Stream> {
  const stream = await openStream(url, query, token);
  stream.close();
  return stream;
}

/** A sluice/client connection that does not reconnect, once open. */
async function realtime(hub: HubProcess, token: string): Promise<Realtime> {
  const rt = connect(hub.ws("/rt"), { WebSocket, token: () => token, reconnect: false });
  await waitFor(() => rt.state === "open", "the real-time connection", 5000);
  return rt;
}

describe("sluice: the command", () => {
  test("`sluice --help` and `sluice hub --help` list every flag with its variable, file key and default", async () => {
    for (const args of [["--help"], ["hub", "--help"], ["hub", "-h"]]) {
      const run = await runSluice(args);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, "");
      assert.match(run.stdout, /^Usage: sluice hub \[options\]/);
      for (const setting of HUB_SETTINGS) {
        assert.ok(run.stdout.includes(`--${setting.flag} ${setting.value}\n`), setting.flag);
        assert.ok(run.stdout.includes(`env ${setting.env}`), setting.env);
        if (setting.key !== "config") assert.ok(run.stdout.includes(`"${setting.key}"`));
        assert.ok(run.stdout.includes(`default: ${setting.fallback}\n`), setting.fallback);
      }
    }
  });

  test("an unknown command, or none, prints the usage on stderr and exits 2", async () => {
    const unknown = await runSluice(["hubb"]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /^sluice: unknown command "hubb"\n\nUsage: sluice hub/);
    const none = await runSluice([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^sluice: no command given\n\nUsage: sluice hub/);
  });

  test("a bad flag exits 2 with its message alone on stderr, no stack", async () => {
    const run = await runSluice(["hub", "--port", "x", "--publish-key", KEY]);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      'sluice hub: --port: must be a whole number from 0 to 65535, got "x"\n',
    );
    assert.equal(run.stdout, "");
    const env = await runSluice(["hub"], { SLUICE_PUBLISH_KEYS: "short" });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /^sluice hub: SLUICE_PUBLISH_KEYS: the publish key has 5 characters/);
    const nobody = await runSluice(["hub", "--port", "0"]);
    assert.equal(nobody.code, 2);
    assert.match(nobody.stderr, /^sluice hub: nobody could publish to this hub/);
  });

  test("a port already taken exits 1, saying the hub cannot start", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const run = await runSluice(["hub", "--host", "127.0.0.1", "--port", String(port)], {
        SLUICE_PUBLISH_KEYS: KEY,
      });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /^sluice hub: cannot start: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe("sluice hub on the memory broker, with a JWT secret", () => {
  let hub: HubProcess;

  before(async () => {
    hub = await HubProcess.start([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--jwt-secret",
      SECRET,
      "--publish-key",
      KEY,
      "--topics",
      "news,chat:*",
      "--cors-origin",
      "https://app.example",
    ]);
  });
  after(() => hub?.kill());

  test("logs its URL and a ready line (JSON lines, no secret in them)", async () => {
    // Logged right after the "listening" line start() waited for: maybe in a later chunk.
    await waitFor(() => hub.logs.some((line) => line.msg === "sluice hub ready"), "the ready line");
    const ready = hub.logs.find((line) => line.msg === "sluice hub ready");
    assert.deepEqual(
      {
        broker: ready?.broker,
        topics: ready?.topics,
        jwt: ready?.jwt,
        publishKeys: ready?.publishKeys,
      },
      { broker: "memory", topics: ["news", "chat:*"], jwt: "secret", publishKeys: 1 },
    );
    assert.match(hub.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const all = JSON.stringify(hub.logs);
    assert.ok(!all.includes(SECRET) && !all.includes(KEY), "a secret was logged");
  });

  test("GET /healthz answers 200 with the broker's kind, and CORS for the allowed origin", async () => {
    const response = await fetch(`${hub.url}/healthz`, {
      headers: { origin: "https://app.example" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example");
    assert.deepEqual(await response.json(), { status: "ok", broker: "memory" });
    const other = await fetch(`${hub.url}/healthz`, {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });

  test("/rt over SSE: no token 401, an expired one 401, a token for other topics 403", async () => {
    const none = await sseStatus(hub.url, "topic=news");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    const { token: expired } = await signToken({
      topics: ["news"],
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    const late = await sseStatus(hub.url, "topic=news", expired);
    assert.equal(late.status, 401);
    assert.match(late.headers.get("www-authenticate") ?? "", /expired/);
    const chat = await tokenFor({ subscribe: ["chat:*"] });
    assert.equal((await sseStatus(hub.url, "topic=news", chat)).status, 403);
    assert.equal((await sseStatus(hub.url, "topic=chat:lobby&topic=news", chat)).status, 403);
  });

  test("/rt: a topic outside --topics is refused whatever the token grants", async () => {
    const everything = await tokenFor({ subscribe: ["*", "*:*"], publish: ["*", "*:*"] });
    assert.equal((await sseStatus(hub.url, "topic=secrets", everything)).status, 403);
    assert.equal((await sseStatus(hub.url, "topic=chat:a:b", everything)).status, 403);
    assert.equal((await sseStatus(hub.url, "topic=news", everything)).status, 200);
    const rt = await realtime(hub, everything);
    try {
      await assert.rejects(rt.subscribe("secrets").ready, { code: "forbidden" });
      await assert.rejects(rt.publish("secrets", 1), { code: "forbidden" });
    } finally {
      rt.close();
    }
  });

  test("/rt: a WebSocket token's topics claim says what it may follow and publish; SSE subscribers (token as ?access_token=) receive it", async () => {
    const reader = await tokenFor({ subscribe: ["chat:*"] }, "reader");
    const sse = await openStream(hub.url, `topic=chat:lobby&access_token=${reader}`);
    assert.equal(sse.status, 200);
    const writer = await tokenFor({ subscribe: ["chat:lobby"], publish: ["chat:lobby"] }, "bob");
    const rt = await realtime(hub, writer);
    try {
      const got: unknown[] = [];
      const sub = rt.subscribe("chat:lobby", {}, (message) => got.push(message.data));
      await within(sub.ready, "the allowed subscribe");
      await assert.rejects(rt.subscribe("chat:other").ready, { code: "forbidden" });
      await assert.rejects(rt.subscribe("news").ready, { code: "forbidden" });
      const id = await rt.publish("chat:lobby", { text: "hi" });
      assert.match(id, /\S/);
      await assert.rejects(rt.publish("chat:other", 1), { code: "forbidden" });
      await waitFor(() => got.length === 1, "the WebSocket subscriber's message", 5000);
      await waitFor(() => sse.messages.length === 1, "the SSE subscriber's message", 5000);
      assert.deepEqual(got, [{ text: "hi" }]);
      assert.deepEqual(sse.messages, [
        { topic: "chat:lobby", id, event: "message", data: { text: "hi" } },
      ]);
    } finally {
      rt.close();
      sse.close();
    }
  });

  test("a token without a publish claim publishes nothing over /rt", async () => {
    const rt = await realtime(hub, await tokenFor({ subscribe: ["news"] }));
    try {
      await within(rt.subscribe("news").ready, "the subscribe");
      await assert.rejects(rt.publish("news", 1), { code: "forbidden" });
    } finally {
      rt.close();
    }
  });
});

describe("sluice hub without JWT options (development), configured by a file and variables", () => {
  let hub: HubProcess;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-hub-"));
    const file = join(dir, "hub.json");
    writeFileSync(file, JSON.stringify({ topics: ["news"], maxConnections: 1, port: 1 }));
    hub = await HubProcess.start(["--config", file], {
      SLUICE_PUBLISH_KEYS: KEY,
      SLUICE_HOST: "127.0.0.1",
      SLUICE_PORT: "0",
    });
  });
  after(async () => {
    await hub?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test("warns that /rt is open, and serves the file's topics to anyone, over SSE and WebSocket", async () => {
    assert.ok(
      hub.logs.some((line) => line.level === 40 && /no JWT options/.test(String(line.msg))),
    );
    assert.equal((await sseStatus(hub.url, "topic=other")).status, 403);
    const sse = await openStream(hub.url, "topic=news");
    try {
      assert.equal(sse.status, 200);
      // maxConnections is 1 (in the file): this stream holds the place.
      const second = await sseStatus(hub.url, "topic=news");
      assert.equal(second.status, 503);
    } finally {
      sse.close();
    }
  });

  test("nobody publishes over /rt without a token", async () => {
    const rt = connect(hub.ws("/rt"), { WebSocket, reconnect: false });
    try {
      await waitFor(() => rt.state === "open", "the connection", 5000);
      await assert.rejects(rt.publish("news", 1), { code: "forbidden" });
    } finally {
      rt.close();
    }
  });

  test("SIGTERM drains: open streams end, the hub logs closed and exits 0", async () => {
    // The streams of the tests before have gone: a place is free again.
    let sse = await openStream(hub.url, "topic=news");
    await eventually(async () => {
      if (sse.status === 200) return true;
      sse = await openStream(hub.url, "topic=news");
      return sse.status === 200;
    }, "a stream's place");
    hub.child.kill("SIGTERM");
    const { code, signal } = await within(hub.exited, "the hub to exit", 15_000);
    assert.equal(signal, null);
    assert.equal(code, 0, hub.stderr);
    await within(sse.ended, "the SSE stream to end");
    const messages = hub.logs.map((line) => line.msg);
    assert.ok(messages.includes("closing gracefully"), JSON.stringify(messages));
    assert.ok(messages.includes("closed"), JSON.stringify(messages));
  });
});

describe("sluice hub on Redis", { skip: noRedis }, () => {
  let redis: RedisServer;
  let hub: HubProcess;

  before(async () => {
    redis = await RedisServer.start();
    hub = await HubProcess.start(["--host", "127.0.0.1", "--port", "0", "--redis", redis.url], {
      SLUICE_PUBLISH_KEYS: KEY,
    });
  });
  after(async () => {
    await hub?.kill();
    await redis?.stop();
  });

  test("/healthz says redis while it answers, 503 problem+json once it is stopped, 200 once it is back", async () => {
    const ok = await fetch(`${hub.url}/healthz`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: "ok", broker: "redis" });
    await redis.stop();
    const down = await fetch(`${hub.url}/healthz`);
    assert.equal(down.status, 503);
    assert.equal(down.headers.get("content-type"), "application/problem+json");
    assert.equal(down.headers.get("retry-after"), "5");
    const problem = (await down.json()) as Record<string, unknown>;
    assert.equal(problem.status, 503);
    assert.equal(problem.title, "Service Unavailable");
    assert.match(String(problem.detail), /^The redis broker does not answer/);
    assert.ok(
      !JSON.stringify(problem).includes(String(redis.port)),
      "the detail names Redis's address",
    );
    await redis.start();
    await eventually(
      async () => (await fetch(`${hub.url}/healthz`)).status === 200,
      "the health check to recover",
      15_000,
    );
  });
});
