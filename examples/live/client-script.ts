// The page imports `connect` from sluice/client as a browser module: this serves it, from the
// page's own origin (the CSP allows scripts from 'self' only).
//
// Where esbuild is installed (in a checkout it always is: tsx, which `npm start` runs on,
// brings it), the client is bundled once, at startup, into one minified file. From a
// published package without esbuild, the package's built modules in dist/ are served as they
// are: /client.js re-exports dist/client/index.js, and the browser fetches the modules it
// imports from the same paths as they have in dist/.
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The path the page imports the client from. */
export const CLIENT_SCRIPT_PATH = "/client.js";

const PACKAGE_ROOT = new URL("../../", import.meta.url);
const CLIENT_SOURCE = fileURLToPath(new URL("src/client/index.ts", PACKAGE_ROOT));
const DIST = new URL("dist/", PACKAGE_ROOT);
/** The folders of dist/ the client's modules are in (it imports nothing else: see check-layers). */
const DIST_FOLDERS = ["client", "protocol"];

export interface ClientScript {
  /** Every path it serves: all public, the client holds no secret. */
  readonly paths: ReadonlySet<string>;
  /** The JavaScript text served at `path` (one of `paths`). */
  read(path: string): Promise<string>;
}

/** With `bundle` false, dist/'s modules are served even where esbuild is installed. */
export function clientScript(bundle = hasEsbuild()): ClientScript {
  return bundle ? bundled() : fromDist();
}

function hasEsbuild(): boolean {
  try {
    createRequire(import.meta.url).resolve("esbuild");
    return true;
  } catch {
    return false;
  }
}

/** One file, built once: its promise is made now, so a failure shows in the log at startup. */
function bundled(): ClientScript {
  const entry = existsSync(CLIENT_SOURCE)
    ? CLIENT_SOURCE
    : fileURLToPath(new URL("client/index.js", DIST));
  const text = build(entry);
  text.catch(() => {}); // awaited (and reported) by each request for it
  return { paths: new Set([CLIENT_SCRIPT_PATH]), read: () => text };
}

async function build(entry: string): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

function fromDist(): ClientScript {
  const files = new Map<string, URL>(); // served path -> file
  for (const folder of DIST_FOLDERS) {
    const dir = new URL(`${folder}/`, DIST);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir))
      if (name.endsWith(".js")) files.set(`/sluice/${folder}/${name}`, new URL(name, dir));
  }
  const entry = "/sluice/client/index.js";
  return {
    paths: new Set([CLIENT_SCRIPT_PATH, ...files.keys()]),
    async read(path) {
      if (path === CLIENT_SCRIPT_PATH) {
        if (!files.has(entry))
          throw new Error("sluice/client is not built: run `npm run build`, or install esbuild");
        return `export * from "${entry}";\n`;
      }
      return readFile(files.get(path) as URL, "utf8");
    },
  };
}
