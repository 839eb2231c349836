// The publishers of examples/publishers against a real `sluice hub` process: the Python one
// (standard library only) and the curl one publish, and a browser-like subscriber
// (EventSource from the eventsource package, on the hub's /rt SSE side with a JWT) receives
// what they published, with the id they printed. The Rust one is compiled and run when rustc
// is installed (skipped, saying so, when it is not).
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { EventSource } from "eventsource";
import { SignJWT } from "jose";
import { HubProcess } from "./support/hub-process.js";
import { waitFor } from "./support/wait.js";

const run = promisify(execFile);
const EXAMPLES = resolve(import.meta.dirname, "../examples/publishers");
const KEY = "publisher-key-for-the-examples-0123";
const SECRET = "a-hub-secret-that-is-32-bytes-long!!";
const hasRustc = !spawnSync("rustc", ["--version"]).error;

describe("examples/publishers against a real hub", () => {
  let hub: HubProcess;
  let source: EventSource;
  const received: { id: string; data: unknown }[] = [];

  before(async () => {
    hub = await HubProcess.start([
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--publish-key",
      KEY,
      "--jwt-secret",
      SECRET,
    ]);
    const token = await new SignJWT({ sub: "reader", topics: ["news"] })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(SECRET));
    source = new EventSource(`${hub.url}/rt?topic=news&access_token=${token}`);
    source.addEventListener("message", (event) => {
      // The SSE side's data is the message envelope { topic, id, event, data }.
      const envelope = JSON.parse(event.data) as { id: string; data: unknown };
      received.push({ id: envelope.id, data: envelope.data });
    });
    await new Promise<void>((resolveOpen, reject) => {
      source.onopen = () => resolveOpen();
      source.onerror = (error) => reject(new Error(`the subscriber failed: ${error.message}`));
    });
  });

  after(async () => {
    source?.close();
    await hub?.kill();
  });

  const env = () => ({ ...process.env, HUB_URL: hub.url, SLUICE_PUBLISH_KEY: KEY });

  /** What the subscriber got for `data` (waits for it). */
  async function delivered(data: unknown): Promise<{ id: string; data: unknown }> {
    await waitFor(
      () => received.some((message) => JSON.stringify(message.data) === JSON.stringify(data)),
      `the subscriber to receive ${JSON.stringify(data)}`,
      5000,
    );
    return received.find((m) => JSON.stringify(m.data) === JSON.stringify(data)) as {
      id: string;
      data: unknown;
    };
  }

  test("Python (standard library): published, received by the subscriber with the printed id", async () => {
    const data = { title: "from python", n: 1 };
    const { stdout } = await run(
      "python3",
      [join(EXAMPLES, "publish.py"), "news", JSON.stringify(data)],
      {
        env: env(),
      },
    );
    const id = stdout.trim();
    assert.match(id, /\S/, "it printed the stored id");
    assert.equal((await delivered(data)).id, id);
  });

  test("Python: a wrong key is refused with the hub's 401 problem, nothing published", async () => {
    const count = received.length;
    const refused = await run(
      "python3",
      [join(EXAMPLES, "publish.py"), "news", '{"title":"not sent"}'],
      { env: { ...env(), SLUICE_PUBLISH_KEY: "a-wrong-key-that-is-long-enough" } },
    ).then(
      () => assert.fail("expected a failure"),
      (error: { stderr: string }) => error.stderr,
    );
    assert.match(refused, /HTTP Error 401/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.length, count);
  });

  test("curl: published and received", async () => {
    const data = { title: "from curl" };
    const { stdout } = await run(
      "sh",
      [join(EXAMPLES, "publish.sh"), "news", JSON.stringify(data)],
      {
        env: env(),
      },
    );
    const { id } = JSON.parse(stdout) as { id: string };
    assert.equal((await delivered(data)).id, id);
  });

  test("Rust (standard library): compiled, published and received", {
    skip: hasRustc ? false : "rustc is not installed",
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-rs-"));
    try {
      const binary = join(dir, "publish");
      await run("rustc", ["--edition", "2021", "-o", binary, join(EXAMPLES, "publish.rs")]);
      const data = { title: "from rust" };
      const { stdout } = await run(binary, ["news", JSON.stringify(data)], {
        env: { ...env(), HUB_ADDR: new URL(hub.url).host },
      });
      const { id } = JSON.parse(stdout) as { id: string };
      assert.equal((await delivered(data)).id, id);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
