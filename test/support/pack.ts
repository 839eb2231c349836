import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeRun, runCommand } from "./command.js";

/** The newest modification time of a file under `path` (or of `path` itself), in ms. */
function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, entry)));
  return newest;
}

/**
 * Builds dist/ as `npm run build` does, unless it was built after the last change to the
 * sources and the build's settings: `npm test` has just built it, and a second build would
 * only cost time, but a test file run alone after an edit must not pack stale declarations.
 */
async function buildIfStale(root: string): Promise<void> {
  const built = join(root, "dist", "index.d.ts");
  const inputs = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"];
  const changed = Math.max(...inputs.map((input) => newestChange(join(root, input))));
  if (existsSync(built) && statSync(built).mtimeMs > changed) return;
  const build = await runCommand("npm", ["run", "build"], { cwd: root, timeout: 180_000 });
  assert.equal(build.code, 0, describeRun("npm run build", build));
}

/** Packs the package as `npm publish` would, into `destination`; resolves the tarball's path. */
export async function packPackage(root: string, destination: string): Promise<string> {
  await buildIfStale(root);
  const pack = await runCommand("npm", ["pack", "--json", "--pack-destination", destination], {
    cwd: root,
    timeout: 120_000,
  });
  assert.equal(pack.code, 0, describeRun("npm pack", pack));
  const [packed] = JSON.parse(pack.stdout) as { filename: string }[];
  assert.ok(packed, `npm pack names the tarball it wrote: ${pack.stdout}`);
  return join(destination, packed.filename);
}
