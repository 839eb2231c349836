import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import ts from "typescript";
import { describeDiagnostic, emitDeclarations } from "./support/declarations.js";

// The published `.d.ts` is the manual: what sluice uses across its own modules is marked
// `@internal` and left out of it (tsconfig.build.json has stripInternal), the rest of a
// class's internals are `#private` (shown as a bare `#private;`). These tests build the
// declarations as `npm run build` does and read them.

const ROOT = resolve(import.meta.dirname, "..");

/**
 * Public classes and the internal names their declarations must not show: members other
 * modules of sluice call, and the state their `#private` fields used to be `private` under.
 */
const HIDDEN: Record<string, { file: string; names: string[] }> = {
  SluiceRequest: {
    file: "http/request.d.ts",
    names: [
      "abort",
      "abortListener",
      "abortedBecause",
      "openStreams",
      "pathProblem",
      "releaseResponse",
      "response",
      "responseFinished",
      "sendTimeout",
      "unreadBodyBlocksConnection",
      "httpResponse",
      "context",
      "controller",
      "abortReason",
      "bodyCache",
      "bodyRefused",
      "readBodyOnce",
      "connectionLost",
    ],
  },
  SluiceWebSocket: {
    file: "websocket/sluice-websocket.d.ts",
    names: [
      "awaitingPong",
      "ping",
      "pingUnlessUnanswered",
      "isThrottled",
      "closeForShutdown",
      "flushScheduled",
      "unreadTimeout",
      "closeUnread",
      "ws",
      "transport",
      "limits",
      "registry",
      "inbox",
      "drain",
      "corked",
      "closeReason",
      "subscriptions",
      "listeners",
      "ended",
    ],
  },
  TopicSubscription: {
    file: "topics/topic-subscription.d.ts",
    names: [
      "settled",
      "receive",
      "receiveMissed",
      "[readyForHead]",
      "context",
      "queue",
      "waiting",
      "attached",
      "maxQueued",
    ],
  },
  WebSocketMessage: { file: "websocket/websocket-message.d.ts", names: ["frame", "wire"] },
  TestClient: {
    file: "testing/test-client.d.ts",
    names: ["app", "agent", "streams", "sockets", "closeTimeout"],
  },
  TestStream: {
    file: "testing/test-stream.d.ts",
    names: ["message", "cursor", "carry", "sse", "takeCarry"],
  },
  TestEventStream: { file: "testing/test-event-stream.d.ts", names: ["events"] },
  TestResponse: { file: "testing/test-response.d.ts", names: ["body"] },
  TestWebSocket: { file: "testing/test-websocket.d.ts", names: ["inbox"] },
  // Not made here, but public: they must not show what sluice alone calls either.
  TopicMessage: { file: "topics/topic-message.d.ts", names: ["abort", "closeForShutdown"] },
  SseEvent: { file: "sse/sse-event.d.ts", names: ["abort", "closeForShutdown"] },
};

function memberNames(declarations: Map<string, string>, file: string, className: string): string[] {
  const text = declarations.get(file);
  assert.ok(text !== undefined, `${file} is emitted`);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = source.statements.find(
    (node): node is ts.ClassDeclaration =>
      ts.isClassDeclaration(node) && node.name?.text === className,
  );
  assert.ok(found, `${file} declares class ${className}`);
  return found.members.flatMap((member) => (member.name ? [member.name.getText(source)] : []));
}

describe("the published .d.ts shows only what users may call", () => {
  let declarations: Map<string, string>;

  before(() => {
    declarations = emitDeclarations();
  });

  test("the build strips @internal members: no declaration file mentions @internal", () => {
    assert.ok(declarations.has("index.d.ts") && declarations.has("testing/index.d.ts"));
    const marked = [...declarations].filter(([, text]) => text.includes("@internal"));
    assert.deepEqual(
      marked.map(([file]) => file),
      [],
      "these still declare @internal members (is stripInternal on in tsconfig.build.json?)",
    );
  });

  for (const [className, { file, names }] of Object.entries(HIDDEN)) {
    test(`${className} declares none of sluice's internals (${names.length} names checked)`, () => {
      const shown = memberNames(declarations, file, className);
      assert.ok(shown.length > 0, `${className} declares members`);
      const leaked = names.filter((name) => shown.includes(name));
      assert.deepEqual(leaked, [], `${className} shows ${leaked.join(", ")}`);
    });
  }

  test("SluiceRequest, SluiceWebSocket and TopicSubscription still declare what users call (a comment that mentions @internal strips what follows it)", () => {
    const request = memberNames(declarations, "http/request.d.ts", "SluiceRequest");
    for (const name of ["path", "params", "signal", "log", "json", "lastEventId", "raw"]) {
      assert.ok(request.includes(name), `SluiceRequest.${name}`);
    }
    const socket = memberNames(declarations, "websocket/sluice-websocket.d.ts", "SluiceWebSocket");
    for (const name of ["send", "close", "closed", "subscribe", "request", "bufferedAmount"]) {
      assert.ok(socket.includes(name), `SluiceWebSocket.${name}`);
    }
    const subscription = memberNames(
      declarations,
      "topics/topic-subscription.d.ts",
      "TopicSubscription",
    );
    for (const name of ["topic", "cutOff", "next", "return", "end"]) {
      assert.ok(subscription.includes(name), `TopicSubscription.${name}`);
    }
  });

  // A stripped member some other declaration still names (a type it implements, an import)
  // would break the types of users who check library files (skipLibCheck false).
  test("the stripped declarations type-check on their own, library checks on", () => {
    mkdirSync(join(ROOT, "scratch"), { recursive: true });
    // Under the project, so that the declarations find node_modules (ws, pino, @types/node).
    const dir = mkdtempSync(join(ROOT, "scratch", "public-types-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const files: string[] = [];
    for (const [file, text] of declarations) {
      const path = join(dir, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      files.push(path);
    }
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
      types: ["node"],
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file?.fileName.startsWith(dir))
      .map(describeDiagnostic);
    assert.deepEqual(problems, []);
  });
});
