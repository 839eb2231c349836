// The typed WebSocket and SSE routes' compile-time checks (test/types/contract-wsse.ts),
// compiled with the repo's options and with `noUncheckedIndexedAccess`: every
// `@ts-expect-error` there must still meet its error (a wrong message field, send value,
// event name or event data), and everything else must compile.
import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..");
const TYPE_CHECKS = resolve(ROOT, "test/types/contract-wsse.ts");

function typeErrors(overrides: ts.CompilerOptions): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(resolve(ROOT, "tsconfig.json"), overrides, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => {},
  });
  assert.ok(parsed, "tsconfig.json parses");
  const program = ts.createProgram([TYPE_CHECKS], parsed.options);
  const file = program.getSourceFile(TYPE_CHECKS);
  assert.ok(file, "the type checks file is in the program");
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map(
    (diagnostic) => {
      const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      return `${relative(ROOT, file.fileName)}:${line + 1}: ${text}`;
    },
  );
}

test("typed WebSocket and SSE routes type-check as declared", { timeout: 60_000 }, () => {
  assert.deepEqual(typeErrors({}), []);
});

test("and with noUncheckedIndexedAccess", { timeout: 60_000 }, () => {
  assert.deepEqual(typeErrors({ noUncheckedIndexedAccess: true }), []);
});
