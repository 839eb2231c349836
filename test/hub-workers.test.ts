// `sluice hub --workers N` in its own process on a real redis-server: the primary forks the
// workers and logs one ready line; a publish over HTTP reaches subscribers on every worker; a
// worker that is killed is replaced and its clients (sluice/client's connect()) resume with
// nothing lost or repeated; SIGTERM drains every worker and the primary exits 0; a worker that
// cannot listen stops the start with exit 1; workers without Redis are refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { connect, type Realtime } from "../src/client/index.js";
import { WorkerRestarts } from "../src/hub/worker-restarts.js";
import { HubProcess, runSluice } from "./support/hub-process.js";
import { RedisServer } from "./support/redis-server.js";
import { sleep, waitFor, within } from "./support/wait.js";

const KEY = "0123456789abcdef-publish-key";
const CLIENTS = 8;

const noRedis = spawnSync("redis-server", ["--version"]).error
  ? "redis-server is not installed (apt-get install redis-server)"
  : false;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of the hub's workers, from its latest line that lists them. */
function workerPids(hub: HubProcess, msg: string): number[] {
  const line = hub.logs.filter((one) => one.msg === msg).at(-1);
  return (line?.workers as number[] | undefined) ?? [];
}

/**
 * POST /publish on a new connection each time (a pooled one may lead to a killed worker),
 * retried: a connection the primary accepts in the moment between a worker's death and its
 * exit event is handed to the dead worker and never answered (node:cluster's round robin).
 */
async function publish(hub: HubProcess, data: unknown): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${hub.url}/publish`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${KEY}`,
          "content-type": "application/json",
          connection: "close",
        },
        body: JSON.stringify({ topic: "news", data }),
        signal: AbortSignal.timeout(3000),
      });
      const body = (await response.json()) as { id: string };
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.id;
    } catch (error) {
      // Only a connection the kill cut may fail, and not for long.
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** sluice_messages_published_total as the hub's /metrics says it now. */
async function publishedTotal(hub: HubProcess): Promise<number> {
  const response = await fetch(`${hub.url}/metrics`, { signal: AbortSignal.timeout(5000) });
  const line = /^sluice_messages_published_total (\d+)$/m.exec(await response.text());
  return Number(line?.[1]);
}

/** `sluice hub --workers 2` on `redis`, once it has logged its ready line. */
async function startWorkers(redis: RedisServer): Promise<HubProcess> {
  const args = ["--workers", "2", "--redis", redis.url, "--publish-key", KEY];
  const hub = await HubProcess.start([...args, "--port", "0", "--host", "127.0.0.1"]);
  await waitFor(() => workerPids(hub, "sluice hub ready").length > 0, "the ready line", 30_000);
  return hub;
}

describe("sluice hub --workers", { skip: noRedis }, () => {
  let redis: RedisServer;
  let hub: HubProcess;
  const clients: { rt: Realtime; got: unknown[]; states: string[] }[] = [];

  before(async () => {
    redis = await RedisServer.start();
    hub = await startWorkers(redis);
  });

  after(async () => {
    for (const { rt } of clients) rt.close();
    await hub?.kill();
    for (const pid of workerPids(hub, "sluice hub ready"))
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    await redis?.stop();
  });

  test("the primary forks the workers and logs one ready line with their pids and the URL", async () => {
    const ready = hub.logs.filter((line) => line.msg === "sluice hub ready");
    assert.equal(ready.length, 1);
    const pids = ready[0].workers as number[];
    assert.equal(pids.length, 2);
    assert.equal(new Set(pids).size, 2);
    assert.ok(!pids.includes(hub.child.pid ?? 0), "workers are other processes than the primary");
    assert.ok(pids.every(isAlive));
    assert.equal(ready[0].url, hub.url);
    // A worker's own line may come just after the primary's ready line.
    await waitFor(
      () => hub.logs.filter((line) => line.msg === "listening").length === 2,
      "two listening lines",
    );
    const listening = hub.logs.filter((line) => line.msg === "listening");
    assert.ok(listening.every((line) => line.url === hub.url));
  });

  test("a worker that is killed is replaced; its clients resume with nothing lost or repeated", async () => {
    for (let n = 0; n < CLIENTS; n++) {
      const client = {
        rt: connect(hub.ws("/rt"), { WebSocket, reconnect: { initialDelay: 20, maxDelay: 200 } }),
        got: [] as unknown[],
        states: [] as string[],
      };
      client.rt.on("state", (state) => client.states.push(state));
      const sub = client.rt.subscribe("news", {}, (message) => client.got.push(message.data));
      clients.push(client);
      await within(sub.ready, `client ${n} to subscribe`, 10_000);
    }
    // /metrics answers for the whole hub, whichever worker takes the request: the 8
    // WebSockets are spread over both workers, and every answer counts all of them.
    for (let n = 0; n < 4; n++) {
      const text = await (
        await fetch(`${hub.url}/metrics`, { signal: AbortSignal.timeout(5000) })
      ).text();
      assert.match(
        text,
        new RegExp(`^sluice_connections\\{transport="websocket"\\} ${CLIENTS}$`, "m"),
        text,
      );
      assert.match(text, new RegExp(`^sluice_topic_subscribers ${CLIENTS}$`, "m"));
    }
    const sent: number[] = [];
    const send = async (count: number) => {
      for (let n = 0; n < count; n++) {
        sent.push(sent.length + 1);
        await publish(hub, sent.length);
      }
    };
    await send(5);
    assert.equal(await publishedTotal(hub), 5);
    const [first, second] = workerPids(hub, "sluice hub ready");
    process.kill(first, "SIGKILL");
    await send(5);
    await waitFor(() => workerPids(hub, "worker replaced").length === 2, "a replacement", 30_000);
    // The dead worker's counts are kept: the hub's counter does not go down (a reset).
    assert.equal(await publishedTotal(hub), 10);
    const replaced = workerPids(hub, "worker replaced");
    assert.ok(replaced.includes(second) && !replaced.includes(first), JSON.stringify(replaced));
    const replacement = replaced.find((pid) => pid !== second) ?? 0;
    const exited = hub.logs.find((line) => line.msg === "a worker exited; starting a replacement");
    assert.equal(exited?.worker, first);
    assert.equal(exited?.signal, "SIGKILL");
    // Now the other original worker: its clients can only go to the replacement.
    process.kill(second, "SIGKILL");
    await send(5);
    await waitFor(
      () => hub.logs.filter((line) => line.msg === "worker replaced").length === 2,
      "a second replacement",
      30_000,
    );
    await send(5);
    await waitFor(
      () => clients.every((client) => client.got.length >= sent.length),
      "every client to have every message",
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const [index, client] of clients.entries()) {
      assert.deepEqual(client.got, sent, `client ${index}`);
    }
    assert.equal(await publishedTotal(hub), sent.length);
    // Every client was on one of the two killed workers: each reconnected at least once.
    for (const [index, client] of clients.entries()) {
      assert.ok(
        client.states.includes("reconnecting"),
        `client ${index}: ${client.states.join(",")}`,
      );
      assert.equal(client.rt.state, "open");
    }
    assert.ok(isAlive(replacement));
    assert.ok(!isAlive(first) && !isAlive(second));
  });

  test("SIGTERM drains every worker; the primary exits 0 and no worker is left", async () => {
    const pids = workerPids(hub, "worker replaced");
    assert.equal(pids.length, 2);
    const closed = clients.map(
      ({ rt }) =>
        new Promise<void>((resolve) => rt.on("state", (state) => state !== "open" && resolve())),
    );
    hub.child.kill("SIGTERM");
    const { code, signal } = await within(hub.exited, "the primary to exit", 20_000);
    assert.equal(signal, null);
    assert.equal(code, 0, hub.stderr);
    await within(Promise.all(closed), "the clients to be closed by the drain");
    assert.ok(
      pids.every((pid) => !isAlive(pid)),
      "no worker is left",
    );
    const messages = hub.logs.map((line) => line.msg);
    assert.ok(
      messages.includes("closing gracefully: draining the workers"),
      JSON.stringify(messages),
    );
    assert.equal(messages.filter((msg) => msg === "closed").length, 2, JSON.stringify(messages));
    assert.ok(
      !messages.includes("a worker exited; starting a replacement") ||
        messages.filter((msg) => msg === "a worker exited; starting a replacement").length === 2,
      "no replacement during the drain",
    );
  });
});

describe("sluice hub --workers: refusals", () => {
  test("workers without --redis exit 2, saying why", async () => {
    const run = await runSluice(["hub", "--workers", "2", "--publish-key", KEY]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^sluice hub: --workers: workers need the Redis broker \(--redis URL\)/,
    );
    assert.equal(run.stdout, "");
  });

  test("a worker that cannot listen (the port is taken) stops the start: exit 1, the reason on stderr", {
    skip: noRedis,
  }, async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    const redis = await RedisServer.start();
    try {
      const run = await runSluice([
        "hub",
        "--workers",
        "2",
        "--redis",
        redis.url,
        "--publish-key",
        KEY,
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
      ]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /EADDRINUSE/);
      assert.match(run.stderr, /sluice hub: cannot start: a worker exited before listening/);
    } finally {
      taken.close();
      await redis.stop();
    }
  });
});

describe("WorkerRestarts: the delay before a replacement", () => {
  test("at once after a worker that lived 5 s; 200 ms doubling to 10 s while they die younger", () => {
    const restarts = new WorkerRestarts();
    const start = 1_000_000;
    assert.equal(restarts.delayAfterDeath(start, start + 5000), 0);
    const young = [1, 2, 3, 4, 5, 6, 7, 8].map(() => restarts.delayAfterDeath(start, start + 4999));
    assert.deepEqual(young, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    // One that lives 5 s resets the count.
    assert.equal(restarts.delayAfterDeath(start, start + 60_000), 0);
    assert.equal(restarts.delayAfterDeath(start, start + 10), 200);
  });
});

describe("sluice hub --workers: the drain deadline", { skip: noRedis }, () => {
  test("a worker that does not close within 15 s of SIGTERM is killed; the primary exits 1", async () => {
    const redis = await RedisServer.start();
    const hub = await startWorkers(redis);
    const stopped: number[] = [];
    try {
      const [frozen, other] = workerPids(hub, "sluice hub ready");
      // A stopped process cannot drain; only SIGKILL ends it.
      process.kill(frozen, "SIGSTOP");
      stopped.push(frozen);
      const signalled = Date.now();
      hub.child.kill("SIGTERM");
      const { code } = await within(hub.exited, "the primary to exit", 25_000);
      const waited = Date.now() - signalled;
      assert.equal(code, 1, hub.stderr);
      assert.ok(waited >= 14_500, `exited ${waited} ms after SIGTERM, before the 15 s deadline`);
      assert.ok(!isAlive(frozen) && !isAlive(other));
      assert.ok(
        hub.logs.some(
          (line) => line.msg === "workers still open after the drain deadline; killing them",
        ),
      );
    } finally {
      for (const pid of stopped) if (isAlive(pid)) process.kill(pid, "SIGKILL");
      await hub.kill();
      await redis.stop();
    }
  });
});

describe("sluice hub --workers: replacements that cannot start, and a drain while one starts", {
  skip: noRedis,
}, () => {
  test("replacements that die before listening are retried with a growing delay, on the same port, until it is free", async () => {
    const redis = await RedisServer.start();
    const port = await freePort();
    const args = ["--workers", "2", "--redis", redis.url, "--publish-key", KEY];
    const hub = await HubProcess.start([...args, "--port", String(port), "--host", "127.0.0.1"]);
    const blocker: Server = createServer();
    try {
      await waitFor(() => workerPids(hub, "sluice hub ready").length > 0, "the ready line", 30_000);
      const pids = workerPids(hub, "sluice hub ready");
      for (const pid of pids) process.kill(pid, "SIGKILL");
      // With no worker left, node:cluster lets the port go: something else takes it.
      await waitFor(
        () =>
          hub.logs.filter((line) => line.msg === "a worker exited; starting a replacement")
            .length === 2,
        "both exits",
        10_000,
      );
      await new Promise<void>((resolve, reject) => {
        blocker.once("error", reject);
        blocker.listen(port, "127.0.0.1", resolve);
      });
      const exits = () =>
        hub.logs.filter((line) => line.msg === "a worker exited; starting a replacement");
      await waitFor(() => exits().length >= 6, "replacements failing on the taken port", 30_000);
      const delays = exits()
        .slice(2)
        .map((line) => line.restartIn as number);
      assert.ok(
        delays.every((delay) => delay > 0),
        `a replacement that never listened is retried after a delay: ${delays}`,
      );
      assert.ok((delays.at(-1) ?? 0) > delays[0], `the delay grows: ${delays}`);
      assert.match(hub.stderr, /EADDRINUSE/);
      blocker.close();
      await waitFor(
        () =>
          hub.logs
            .filter((line) => line.msg === "worker replaced")
            .some((line) => (line.workers as number[]).length === 2),
        "two workers again",
        30_000,
      );
      // On the port the hub had: its URL still works.
      const health = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(health.status, 200);
    } finally {
      blocker.close();
      await hub.kill();
      await redis.stop();
    }
  });

  test("SIGTERM while a replacement starts: the starting one is stopped, the rest drain, exit 0 at once", async () => {
    const redis = await RedisServer.start();
    const hub = await startWorkers(redis);
    try {
      const [first] = workerPids(hub, "sluice hub ready");
      process.kill(first, "SIGKILL");
      await waitFor(
        () => hub.logs.some((line) => line.msg === "a worker exited; starting a replacement"),
        "the exit",
        10_000,
      );
      // The replacement is forked, and still loading.
      await sleep(100);
      const signalled = Date.now();
      hub.child.kill("SIGTERM");
      const { code } = await within(hub.exited, "the primary to exit", 20_000);
      assert.equal(code, 0, hub.stderr);
      assert.ok(
        Date.now() - signalled < 10_000,
        `exited ${Date.now() - signalled} ms after SIGTERM`,
      );
      assert.ok(
        !hub.logs.some(
          (line) => line.msg === "workers still open after the drain deadline; killing them",
        ),
      );
    } finally {
      await hub.kill();
      await redis.stop();
    }
  });
});
