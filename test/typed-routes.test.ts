import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";
import { TestClient } from "../src/testing/index.js";
import { chainedAuthApp, groupApp, typedApp } from "./types/typed-routes.js";

const ROOT = resolve(import.meta.dirname, "..");
const TYPE_CHECKS = resolve(ROOT, "test/types/typed-routes.ts");

/** The repo's compiler options (tsconfig.json), with `overrides`. */
function compilerOptions(overrides: ts.CompilerOptions): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(resolve(ROOT, "tsconfig.json"), overrides, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => {},
  });
  assert.ok(parsed, "tsconfig.json parses");
  return parsed.options;
}

/** What the compiler says about the type checks file alone (sluice's own files aside). */
function typeErrors(overrides: ts.CompilerOptions): string[] {
  const program = ts.createProgram([TYPE_CHECKS], compilerOptions(overrides));
  const file = program.getSourceFile(TYPE_CHECKS);
  assert.ok(file, "the type checks file is in the program");
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map(
    (diagnostic) => {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      return `${relative(ROOT, file.fileName)}:${line + 1}: ${text}`;
    },
  );
}

describe("handlers' params and state are typed from the path and the middleware", () => {
  test("test/types/typed-routes.ts compiles with the repo's options", { timeout: 60_000 }, () => {
    assert.deepEqual(typeErrors({}), []);
  });

  test("and with noUncheckedIndexedAccess: a declared param is a string, not string | undefined", {
    timeout: 60_000,
  }, () => {
    assert.deepEqual(typeErrors({ noUncheckedIndexedAccess: true }), []);
  });

  test("the params and principal the types promise are there at run time", async () => {
    await using client = await TestClient.start(typedApp());
    assert.deepEqual((await client.get("/users/7")).json(), { id: "7" });
    assert.deepEqual((await client.get("/files/a/b.txt")).json(), { rest: "a/b.txt" });
    assert.deepEqual((await client.post("/orgs/acme/teams/red")).json(), {
      org: "acme",
      team: "red",
    });
    assert.deepEqual((await client.get("/state")).json(), { user: "alice" });
    const socket = await client.websocketConnect("/rooms/blue");
    assert.deepEqual(await socket.receiveJson(), { room: "blue", same: "blue" });
    await socket.close();

    await using authed = await TestClient.start(chainedAuthApp());
    const headers = { authorization: "Bearer t-ada" };
    assert.deepEqual((await authed.get("/me", { headers })).json(), { name: "ada" });
    assert.equal((await authed.get("/me")).statusCode, 401);
    const ws = await authed.websocketConnect("/ws/lobby", { headers });
    assert.deepEqual(await ws.receiveJson(), { name: "ada" });
    await ws.close();

    await using grouped = await TestClient.start(groupApp());
    // The org group's guard covers its whole prefix, routes added before it included.
    assert.equal((await grouped.get("/orgs/acme/members/ada")).statusCode, 401);
    assert.deepEqual((await grouped.get("/orgs/acme/members/ada", { headers })).json(), {
      org: "acme",
      member: "ada",
    });
    assert.deepEqual((await grouped.get("/orgs/acme/teams/red", { headers })).json(), {
      org: "acme",
      team: "red",
    });
    assert.deepEqual((await grouped.get("/orgs/acme/settings", { headers })).json(), {
      org: "acme",
      by: "ada",
    });
  });
});
