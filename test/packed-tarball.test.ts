// The package as npm users get it: `npm pack`, the tarball installed into a fresh project
// (test/support/consumer-project.ts) that type-checks with `skipLibCheck: false` and runs a
// small app against each entry point. The repository's own checks cannot see what this sees:
// its tsconfig skips library checks, and its node_modules has every devDependency (@types/ws
// among them) that a user's project does not.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CommandResult, describeRun } from "./support/command.js";
import {
  compileBrowserConsumer,
  compileConsumer,
  npmInstall,
  runConsumer,
  sameVersionAs,
  writeConsumerProject,
} from "./support/consumer-project.js";
import { HubProcess, type HubRun, runSluice } from "./support/hub-process.js";
import { packPackage } from "./support/pack.js";
import { RedisServer } from "./support/redis-server.js";
import { waitFor } from "./support/wait.js";

const ROOT = resolve(import.meta.dirname, "..");
const HUB_KEY = "a-publish-key-for-the-packed-hub";

const noRedis = spawnSync("redis-server", ["--version"]).error
  ? "redis-server is not installed (apt-get install redis-server)"
  : false;

/** Packages whose types must never reach a user's compiler through sluice's declarations. */
const UNREACHABLE = ["/node_modules/ws/", "/node_modules/@types/ws/", "/node_modules/ioredis/"];

describe("the packed tarball in a fresh strict NodeNext project", { timeout: 900_000 }, () => {
  let dir = "";
  /** missing-peers.mjs, run while only the tarball is installed. */
  let withoutPeers: CommandResult;
  /** `sluice hub --help` and `sluice hub`, run while only the tarball is installed. */
  let hubHelpWithoutPeers: HubRun;
  let hubWithoutPeers: HubRun;
  /** The project's tsc, once the peers, typescript and @types/node are installed. */
  let compiled: CommandResult;
  /** tsc on the browser-only part (DOM types, no Node types). */
  let browserCompiled: CommandResult;

  before(
    async () => {
      dir = mkdtempSync(join(tmpdir(), "sluice-packed-"));
      const tarball = await packPackage(ROOT, dir);
      const project = join(dir, "project");
      writeConsumerProject(project);
      await npmInstall(project, [tarball]);
      withoutPeers = await runConsumer(project, "missing-peers.mjs");
      const bin = { command: [join(project, "node_modules/.bin/sluice")], cwd: project };
      hubHelpWithoutPeers = await runSluice(["hub", "--help"], {}, bin);
      hubWithoutPeers = await runSluice(
        ["hub", "--port", "0"],
        { SLUICE_PUBLISH_KEYS: HUB_KEY },
        bin,
      );
      await npmInstall(
        project,
        ["typescript", "@types/node", "ioredis", "jose", "zod"].map((name) =>
          sameVersionAs(ROOT, name),
        ),
      );
      compiled = await compileConsumer(project);
      browserCompiled = await compileBrowserConsumer(project);
    },
    { timeout: 600_000 },
  );

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const project = () => join(dir, "project");

  test("without ioredis or jose, sluice/redis and sluice/jwt say which package to install, and sluice and sluice/testing load", () => {
    assert.equal(withoutPeers.code, 0, describeRun("missing-peers.mjs", withoutPeers));
    assert.deepEqual(withoutPeers.stdout.trim().split("\n"), [
      "sluice: loaded",
      "sluice/testing: loaded",
      'sluice/redis: sluice/redis needs the "ioredis" package: npm install ioredis',
      'sluice/jwt: sluice/jwt needs the "jose" package: npm install jose',
      "sluice/client: loaded",
    ]);
  });

  test("the five entry points type-check with skipLibCheck false, and no declaration reaches ws's or ioredis's types", () => {
    assert.equal(compiled.code, 0, describeRun("tsc", compiled));
    const files = compiled.stdout.split("\n").map((line) => line.trim());
    for (const entry of ["index", "testing/index", "redis/index", "jwt/index", "client/index"]) {
      const declaration = `/node_modules/sluice/dist/${entry}.d.ts`;
      assert.ok(
        files.some((file) => file.endsWith(declaration)),
        `${declaration} is checked`,
      );
    }
    const reached = files.filter((file) => UNREACHABLE.some((path) => file.includes(path)));
    assert.deepEqual(reached, [], "sluice's declarations pull these into the user's program");
  });

  test("sluice/client type-checks in a browser-only project (DOM types, no Node types, skipLibCheck false)", () => {
    assert.equal(
      browserCompiled.code,
      0,
      describeRun("tsc -p tsconfig.browser.json", browserCompiled),
    );
    const files = browserCompiled.stdout.split("\n").map((line) => line.trim());
    assert.ok(files.some((file) => file.endsWith("/node_modules/sluice/dist/client/index.d.ts")));
    const node = files.filter((file) => file.includes("/node_modules/@types/"));
    assert.deepEqual(node, [], "sluice/client's declarations pull in these types");
  });

  test("sluice/client: fetchEvents reads the app's SSE route and connect() runs in Node with ws's class", async () => {
    const run = await runConsumer(project(), "out/client.js");
    assert.equal(run.code, 0, describeRun("out/client.js", run));
    assert.match(run.stdout, /^sluice\/client: ok$/m);
  });

  test("typed contracts: one zod schema types and checks a route, a WebSocket, a topic and a real-time endpoint with its typed client", async () => {
    const run = await runConsumer(project(), "out/contract.js");
    assert.equal(run.code, 0, describeRun("out/contract.js", run));
    assert.match(run.stdout, /^sluice contracts: ok$/m);
  });

  test("sluice: an App with a route, an SSE route and a WebSocket route answers fetch on 127.0.0.1", async () => {
    const run = await runConsumer(project(), "out/main.js");
    assert.equal(run.code, 0, describeRun("out/main.js", run));
    assert.match(run.stdout, /^sluice: ok$/m);
  });

  test("sluice/testing: TestClient drives the same app, over HTTP, SSE and a compressed WebSocket", async () => {
    const run = await runConsumer(project(), "out/testing.js");
    assert.equal(run.code, 0, describeRun("out/testing.js", run));
    assert.match(run.stdout, /^sluice\/testing: ok$/m);
  });

  test("sluice/jwt: jwtAuth lets a token signed with jose through and refuses a forged one", async () => {
    const run = await runConsumer(project(), "out/jwt.js");
    assert.equal(run.code, 0, describeRun("out/jwt.js", run));
    assert.match(run.stdout, /^sluice\/jwt: ok$/m);
  });

  test("the sluice bin: without jose or ioredis, `sluice hub --help` works and `sluice hub` says which package to install", () => {
    assert.equal(hubHelpWithoutPeers.code, 0, hubHelpWithoutPeers.stderr);
    assert.match(hubHelpWithoutPeers.stdout, /^Usage: sluice hub \[options\]/);
    assert.equal(hubWithoutPeers.code, 1, hubWithoutPeers.stdout);
    assert.match(
      hubWithoutPeers.stderr,
      /^sluice hub: cannot start: sluice\/(jwt|redis) needs the "(jose|ioredis)" package: npm install \2\n$/,
    );
  });

  test("the sluice bin: `npx sluice hub --help` works, and the installed bin answers /healthz and drains on SIGTERM", async () => {
    const help = await runSluice(
      ["hub", "--help"],
      {},
      {
        command: ["npx", "--no-install", "sluice"],
        cwd: project(),
      },
    );
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: sluice hub \[options\]/);
    // The bin itself, as a container or systemd runs it: npx does not pass SIGTERM on.
    const hub = await HubProcess.start(
      ["--host", "127.0.0.1", "--port", "0"],
      { SLUICE_PUBLISH_KEYS: HUB_KEY },
      { command: [join(project(), "node_modules/.bin/sluice")], cwd: project() },
    );
    try {
      const health = await fetch(`${hub.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok", broker: "memory" });
      hub.child.kill("SIGTERM");
      assert.equal((await hub.exited).code, 0, hub.stderr);
    } finally {
      await hub.kill();
    }
  });

  test("the sluice bin on Redis with --workers 2: workers fork from the installed bin, publish, /metrics, drain", {
    skip: noRedis,
  }, async () => {
    const redis = await RedisServer.start();
    const hub = await HubProcess.start(
      ["--host", "127.0.0.1", "--port", "0", "--redis", redis.url, "--workers", "2"],
      { SLUICE_PUBLISH_KEYS: HUB_KEY },
      { command: [join(project(), "node_modules/.bin/sluice")], cwd: project() },
    );
    try {
      await waitFor(
        () => hub.logs.some((line) => line.msg === "sluice hub ready"),
        "the ready line",
        30_000,
      );
      const ready = hub.logs.find((line) => line.msg === "sluice hub ready");
      assert.equal((ready?.workers as number[] | undefined)?.length, 2);
      const health = await fetch(`${hub.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok", broker: "redis" });
      const published = await fetch(`${hub.url}/publish`, {
        method: "POST",
        headers: { authorization: `Bearer ${HUB_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ topic: "news", data: { n: 1 } }),
      });
      assert.equal(published.status, 200);
      const metrics = await (await fetch(`${hub.url}/metrics`)).text();
      assert.match(metrics, /^sluice_messages_published_total 1$/m);
      hub.child.kill("SIGTERM");
      assert.equal((await hub.exited).code, 0, hub.stderr);
    } finally {
      await hub.kill();
      await redis.stop();
    }
  });

  test("sluice/redis: redisBroker publishes and reads back on a real redis-server", {
    skip: noRedis,
  }, async () => {
    const redis = await RedisServer.start();
    try {
      const run = await runConsumer(project(), "out/redis.js", { REDIS_URL: redis.url });
      assert.equal(run.code, 0, describeRun("out/redis.js", run));
      assert.match(run.stdout, /^sluice\/redis: ok$/m);
    } finally {
      await redis.stop();
    }
  });
});
