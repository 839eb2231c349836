// Issue 21: topics, contracts and the typed client are typed the same in a user's project,
// which sees only the published declarations (stripInternal): test/types/typed-topics.ts
// (which `npx tsc --noEmit` checks against the sources) is compiled against them, strict,
// each of its `@ts-expect-error` lines still an error (an unused one is an error too).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import ts from "typescript";
import { describeDiagnostic, emitDeclarations, writeDeclarations } from "./support/declarations.js";

const ROOT = resolve(import.meta.dirname, "..");
let dir: string;

before(() => {
  mkdirSync(join(ROOT, "scratch"), { recursive: true });
  // Under the project, so that zod, valibot and the declarations' imports resolve.
  dir = mkdtempSync(join(ROOT, "scratch", "typed-topics-dts-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("test/types/typed-topics.ts compiles against the published declarations, every @ts-expect-error an error", {
  timeout: 120_000,
}, () => {
  writeDeclarations(emitDeclarations(), join(dir, "sluice"));
  const source = readFileSync(join(ROOT, "test/types/typed-topics.ts"), "utf8")
    .replaceAll("../../src/client/index.js", "./sluice/client/index.js")
    .replaceAll("../../src/index.js", "./sluice/index.js");
  assert.match(source, /\.\/sluice\/index\.js/);
  const consumer = join(dir, "typed-topics.ts");
  writeFileSync(consumer, source);
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
  const program = ts.createProgram([consumer], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts"],
    types: ["node"],
  });
  assert.deepEqual(ts.getPreEmitDiagnostics(program).map(describeDiagnostic), []);
});
