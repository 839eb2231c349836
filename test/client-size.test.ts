// sluice/client runs in browsers: its size is a budget (at most 5 KB min+gzip for connect),
// and it must import nothing but the protocol's frames: no Node built-ins, no packages.
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const CLIENT = join(ROOT, "src/client");
const BUDGET = 5120;

/** The min+gzip size of a browser bundle of `names` imported from src/client. */
async function bundledSize(names: string[]): Promise<number> {
  const result = await build({
    stdin: {
      contents: `export { ${names.join(", ")} } from "./src/client/index.ts";`,
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  });
  return gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
}

test("connect alone bundles to at most 5 KB min+gzip (fetchEvents and the whole module reported)", async () => {
  const connect = await bundledSize(["connect"]);
  const fetchEvents = await bundledSize(["fetchEvents"]);
  const whole = await bundledSize(["connect", "fetchEvents", "RealtimeError", "EventStreamError"]);
  console.log(
    `sluice/client min+gzip: connect ${connect} B, fetchEvents ${fetchEvents} B, whole module ${whole} B (budget for connect ${BUDGET} B)`,
  );
  assert.ok(connect <= BUDGET, `connect is ${connect} bytes min+gzip, over ${BUDGET}`);
});

test("src/client imports only ../protocol/frames.js, ../protocol/contract.js and its own files: no node: or bare specifiers", async () => {
  // esbuild's own resolution of every file the module reaches, comments and strings aside.
  const result = await build({
    entryPoints: [join(CLIENT, "index.ts")],
    bundle: true,
    platform: "neutral",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const found: string[] = [];
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const { original } of input.imports) {
      const allowed =
        original === "../protocol/frames.js" ||
        original === "../protocol/contract.js" ||
        /^\.\/[\w-]+\.js$/.test(original ?? "");
      if (!allowed) found.push(`${file}: ${original}`);
    }
  }
  assert.deepEqual(found, []);
  assert.deepEqual(
    Object.keys(result.metafile.inputs).filter((file) => !file.startsWith("src/client/")),
    ["src/protocol/contract.ts", "src/protocol/frames.ts"],
  );
});
