// scripts/check-layers.ts, the architecture check npm test runs, on trees made for it.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { importCycles, importsOf, layerBreaches, sourceFiles } from "../scripts/check-layers.js";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "check-layers-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(files: Record<string, string>): { breaches: string[]; cycles: string[][] } {
  const root = tree(files);
  try {
    const graph = new Map(sourceFiles(root).map((file) => [file, importsOf(file)]));
    return { breaches: layerBreaches(root, graph), cycles: importCycles(root, graph) };
  } finally {
    rmSync(root, { recursive: true });
  }
}

describe("scripts/check-layers.ts", () => {
  test("imports that point down, and within a folder, pass", () => {
    const result = check({
      "util/a.ts": "export const a = 1;",
      "http/b.ts": 'import { a } from "../util/a.js";\nexport const b = a;',
      "http/c.ts": 'import type { b } from "./b.js";',
      "topics/d.ts": 'export { b } from "../http/b.js";\nconst x = await import("../sse/e.js");',
      "sse/e.ts": "export {};",
      "index.ts": 'export * from "./topics/d.js";',
    });
    assert.deepEqual(result, { breaches: [], cycles: [] });
  });

  test("an import of a folder above, or beside at the same rank, is a breach", () => {
    const { breaches } = check({
      "http/a.ts": 'import type { S } from "../sse/s.js";',
      "sse/s.ts": 'import { w } from "../websocket/w.js";\nexport type S = 1;',
      "websocket/w.ts": "export const w = 1;",
    });
    assert.equal(breaches.length, 2, breaches.join("\n"));
    assert.match(breaches[0], /http\/a\.ts \(http\) imports sse\/s\.ts \(sse\)/);
    assert.match(breaches[1], /sse\/s\.ts \(sse\) imports websocket\/w\.ts \(websocket\)/);
  });

  test("a folder with no layer is named", () => {
    const { breaches } = check({
      "misc/a.ts": 'import "../util/b.js";',
      "util/b.ts": "export {};",
    });
    assert.match(breaches[0], /"misc" has no layer/);
  });

  test("cycles are found, type-only imports included", () => {
    const { cycles } = check({
      "websocket/a.ts": 'import type { B } from "./b.js";\nexport type A = B;',
      "websocket/b.ts": 'import { c } from "./c.js";\nexport type B = 1;',
      "websocket/c.ts": 'import type { A } from "./a.js";\nexport const c = 1;',
    });
    assert.equal(cycles.length, 1);
    assert.deepEqual(cycles[0].slice(0, -1).sort(), [
      "websocket/a.ts",
      "websocket/b.ts",
      "websocket/c.ts",
    ]);
  });

  test("the real src/ passes", () => {
    const src = join(process.cwd(), "src");
    const graph = new Map(sourceFiles(src).map((file) => [file, importsOf(file)]));
    assert.ok(graph.size > 50);
    assert.deepEqual(layerBreaches(src, graph), []);
    assert.deepEqual(importCycles(src, graph), []);
  });
});
