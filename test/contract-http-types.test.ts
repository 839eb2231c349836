// Issue 21: HTTP routes with schemas are typed end to end in a user's project, which sees
// only the published declarations (stripInternal): a fixture project is compiled against
// them, strict, its wrong usages marked `@ts-expect-error` (an unused one is an error too).
// test/types/contract-http.ts checks more cases against the sources.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import ts from "typescript";
import { describeDiagnostic, emitDeclarations, writeDeclarations } from "./support/declarations.js";

const ROOT = resolve(import.meta.dirname, "..");

const CONSUMER = `import * as v from "valibot";
import { z } from "zod";
import { App, HttpResponse, type SluiceRequest } from "./sluice/index.js";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<Check extends true>(_check?: Check): void {}

const app = new App();
const order = z.object({ item: z.string(), quantity: z.coerce.number() });

app.post(
  "/shops/:shop/orders",
  { body: order, query: v.object({ page: v.optional(v.string(), "1") }), response: z.object({ id: z.number() }) },
  (req) => {
    expectType<Equal<typeof req.body, { item: string; quantity: number }>>();
    expectType<Equal<typeof req.query, { page: string }>>();
    expectType<Equal<typeof req.params, { shop: string }>>();
    // @ts-expect-error: a wrong field name
    req.body.quantty;
    return { id: req.body.quantity };
  },
);
app.get("/orders/:id", { params: v.object({ id: v.pipe(v.string(), v.transform(Number)) }) }, (req) => {
  expectType<Equal<typeof req.params.id, number>>();
  // @ts-expect-error: no body schema, no body
  req.body;
  return HttpResponse.empty();
});
app.get(
  "/status",
  { response: v.object({ up: v.boolean() }) },
  // @ts-expect-error: a wrong response shape
  () => ({ up: 1 }),
);
// @ts-expect-error: a misspelt schema name
app.put("/typo", { qeury: order }, () => "x");
// @ts-expect-error: the path has :id, not :orderId: every request would be refused
app.get("/orders/:id", { params: z.object({ orderId: z.string() }) }, () => "x");
// @ts-expect-error: query values are strings: coerce them
app.get("/count", { query: z.object({ n: z.number() }) }, () => "x");
// @ts-expect-error: Node lower-cases header names
app.get("/key", { headers: z.object({ "X-Api-Key": z.string() }) }, () => "x");
app.get("/key", { headers: z.object({ "x-api-key": z.string() }) }, (req) => {
  expectType<Equal<typeof req.headers["x-api-key"], string>>();
  expectType<Equal<typeof req.headers["user-agent"], string | undefined>>();
  return "ok";
});
app.get("/plain", (req: SluiceRequest<{}>) => {
  // @ts-expect-error: a request without a body schema has no body
  req.body;
  expectType<Equal<typeof req.query, URLSearchParams>>();
  return "ok";
});
`;

describe("a user's project types HTTP routes from their schemas (published declarations)", () => {
  let declarations: Map<string, string>;
  let dir: string;

  before(() => {
    declarations = emitDeclarations();
    mkdirSync(join(ROOT, "scratch"), { recursive: true });
    // Under the project, so that zod, valibot and the declarations' imports resolve.
    dir = mkdtempSync(join(ROOT, "scratch", "contract-http-types-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("SluiceRequest's declaration shows neither the validated body nor its setter", () => {
    const request = declarations.get("http/request.d.ts") ?? "";
    assert.match(request, /get query\(\): URLSearchParams;/);
    assert.doesNotMatch(request, /\bget body\(\)|setValidated/);
  });

  test("the fixture compiles, strict, every @ts-expect-error an error", {
    timeout: 120_000,
  }, () => {
    writeDeclarations(declarations, join(dir, "sluice"));
    const consumer = join(dir, "app.ts");
    writeFileSync(consumer, CONSUMER);
    const program = ts.createProgram([consumer], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      noUncheckedIndexedAccess: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
      types: ["node"],
    });
    const problems = ts.getPreEmitDiagnostics(program).map(describeDiagnostic);
    assert.deepEqual(problems, []);
  });
});
