// The package's declarations as the build writes them (tsconfig.build.json, stripInternal),
// for tests that compile a user's code against what is published rather than the sources.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "../..");

/** Every `.d.ts` the build emits, by path under dist/ ("http/request.d.ts"); kept in memory. */
export function emitDeclarations(): Map<string, string> {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, "tsconfig.build.json"),
    { emitDeclarationOnly: true, declarationMap: false },
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  assert.ok(parsed, "tsconfig.build.json parses");
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const outDir = program.getCompilerOptions().outDir ?? "";
  const declarations = new Map<string, string>();
  // Kept in memory: the files are handed over here instead of being written to dist/.
  const result = program.emit(undefined, (fileName, text) => {
    if (fileName.endsWith(".d.ts")) declarations.set(relative(outDir, fileName), text);
  });
  assert.deepEqual(result.diagnostics.map(describeDiagnostic), [], "the declarations build");
  return declarations;
}

/** Writes `declarations` under `dir` as they would be in dist/; returns the paths written. */
export function writeDeclarations(declarations: Map<string, string>, dir: string): string[] {
  const written: string[] = [];
  for (const [file, text] of declarations) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    written.push(path);
  }
  return written;
}

/** `test/x.ts:12: message`, paths relative to the repository. */
export function describeDiagnostic(diagnostic: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
  if (!diagnostic.file || diagnostic.start === undefined) return text;
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `${relative(ROOT, diagnostic.file.fileName)}:${line + 1}: ${text}`;
}
