// The publishers of examples/publishers against a real `sluice hub` process: each one
// (Python and Ruby and PHP and Go with their standard libraries, curl, Rust compiled with
// rustc) publishes, prints the stored id, and a browser-like subscriber (EventSource from the
// eventsource package, on the hub's /rt SSE side with a JWT) receives what it published with
// that id. Each also refuses a wrong key with the hub's 401 problem detail and a non-zero
// exit, publishing nothing. A publisher whose tool is missing is skipped saying which Debian
// package to install, except in CI, where that fails (scripts/test-setup.sh installs them).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { EventSource } from "eventsource";
import { SignJWT } from "jose";
import { HubProcess } from "./support/hub-process.js";
import { type OutsideTool, outsideTool } from "./support/outside-tool.js";
import { waitFor } from "./support/wait.js";

const execFileAsync = promisify(execFile);
const EXAMPLES = resolve(import.meta.dirname, "../examples/publishers");
const KEY = "publisher-key-for-the-examples-0123";
const WRONG_KEY = "a-wrong-key-that-is-long-enough";
const SECRET = "a-hub-secret-that-is-32-bytes-long!!";
/** A cold `go run` or `rustc` compiles first: seconds on a busy 2-core machine. */
const COMPILE_TIMEOUT_MS = 120_000;

/** A scratch directory, removed when the test process exits. */
const scratch = mkdtempSync(join(tmpdir(), "sluice-publishers-"));
process.once("exit", () => rmSync(scratch, { recursive: true, force: true }));

interface Publisher {
  readonly name: string;
  readonly tool: OutsideTool;
  /** Runs the example with `topic` and `data` (a JSON text) in `env`; rejects on a non-zero exit. */
  run(topic: string, data: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string }>;
  /** The stored id, from what it printed. */
  id(stdout: string): string;
  /** Where it prints the hub's problem on a refusal. */
  readonly refusalOn: "stdout" | "stderr";
}

const printedId = (stdout: string) => stdout.trim();
const answeredId = (stdout: string) => (JSON.parse(stdout) as { id: string }).id;

interface ScriptOptions {
  /** What runs the file. Default: the tool itself (python3 publish.py). */
  readonly interpreter?: string;
  readonly id?: (stdout: string) => string;
  readonly refusalOn?: "stdout" | "stderr";
}

function script(name: string, tool: OutsideTool, file: string, options: ScriptOptions = {}) {
  const publisher: Publisher = {
    name,
    tool,
    run(topic, data, env) {
      const executable = tool.require(); // a script's interpreter finds the tool on the PATH
      return execFileAsync(options.interpreter ?? executable, [join(EXAMPLES, file), topic, data], {
        env,
      });
    },
    id: options.id ?? printedId,
    refusalOn: options.refusalOn ?? "stderr",
  };
  return publisher;
}

const go: Publisher = {
  name: "Go (standard library)",
  tool: outsideTool("go", "golang-go"),
  // Its build cache and module path in the scratch directory, not the user's home.
  run: (topic, data, env) =>
    execFileAsync(go.tool.require(), ["run", join(EXAMPLES, "publish.go"), topic, data], {
      env: { ...env, GOCACHE: join(scratch, "go-cache"), GOPATH: join(scratch, "go-path") },
      timeout: COMPILE_TIMEOUT_MS,
    }),
  id: printedId,
  refusalOn: "stderr",
};

/** Compiled once, by the first run. */
let rustBinary: Promise<string> | undefined;
const rust: Publisher = {
  name: "Rust (standard library)",
  tool: outsideTool("rustc", "rustc"),
  async run(topic, data, env) {
    rustBinary ??= (async () => {
      const binary = join(scratch, "publish-rs");
      const source = join(EXAMPLES, "publish.rs");
      await execFileAsync(rust.tool.require(), ["--edition", "2021", "-o", binary, source], {
        timeout: COMPILE_TIMEOUT_MS,
      });
      return binary;
    })();
    return execFileAsync(await rustBinary, [topic, data], {
      env: { ...env, HUB_ADDR: new URL(String(env.HUB_URL)).host },
    });
  },
  id: answeredId,
  refusalOn: "stderr",
};

const PUBLISHERS: readonly Publisher[] = [
  script("Python (standard library)", outsideTool("python3", "python3"), "publish.py"),
  script("Ruby (net/http)", outsideTool("ruby", "ruby"), "publish.rb"),
  script("PHP (php-cli, no extension)", outsideTool("php", "php-cli"), "publish.php"),
  go,
  // curl --fail-with-body prints the refusal's body on stdout.
  script("curl", outsideTool("curl", "curl"), "publish.sh", {
    interpreter: "sh",
    id: answeredId,
    refusalOn: "stdout",
  }),
  rust,
];

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

  const env = (key = KEY): NodeJS.ProcessEnv => ({
    ...process.env,
    HUB_URL: hub.url,
    SLUICE_PUBLISH_KEY: key,
  });

  /** What the subscriber got for `data` (waits for it). */
  async function delivered(data: unknown): Promise<{ id: string; data: unknown }> {
    const text = JSON.stringify(data);
    const find = () => received.find((message) => JSON.stringify(message.data) === text);
    await waitFor(() => find() !== undefined, `the subscriber to receive ${text}`, 5000);
    return find() as { id: string; data: unknown };
  }

  for (const publisher of PUBLISHERS) {
    describe(publisher.name, { skip: publisher.tool.skip }, () => {
      test("publishes; the subscriber receives it with the id it printed", async () => {
        // An empty object and a non-ASCII string: {} must not turn into [] (PHP arrays).
        const data = { title: `from ${publisher.name}, café`, empty: {}, list: [1, null] };
        const { stdout } = await publisher.run("news", JSON.stringify(data), env());
        const id = publisher.id(stdout);
        assert.match(id, /^\S+$/, `it printed the stored id: ${stdout}`);
        assert.equal((await delivered(data)).id, id);
      });

      test("a wrong key: the hub's 401 detail, a non-zero exit, nothing published", async () => {
        const count = received.length;
        const failure = await publisher.run("news", '{"title":"not sent"}', env(WRONG_KEY)).then(
          ({ stdout }) => assert.fail(`expected a failure, it printed ${stdout}`),
          (error: { code: unknown; stdout: string; stderr: string }) => error,
        );
        assert.notEqual(failure.code, 0);
        assert.equal(typeof failure.code, "number", "it exited (not killed, not unstartable)");
        const output = failure[publisher.refusalOn];
        assert.match(output, /401/);
        assert.match(output, /The bearer token is neither a publish key of this hub nor a JWT/);
        // A later publish is delivered, and nothing came before it: the refused one was not.
        const marker = { marker: publisher.name };
        await publisher.run("news", JSON.stringify(marker), env());
        await delivered(marker);
        assert.deepEqual(
          received.slice(count).map((message) => message.data),
          [marker],
        );
      });
    });
  }
});
