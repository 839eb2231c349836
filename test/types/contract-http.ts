/*
 * Compile-time checks of HTTP routes with schemas (issue 21): `npx tsc --noEmit` compiles this
 * file, and a `@ts-expect-error` whose error went away fails it. The request is typed from the
 * schemas' outputs, the handler's result from the response schema's input, with zod and with
 * valibot alike. test/contract-http-types.test.ts checks the same against the published
 * declarations, as a user's project sees them.
 */
import type { IncomingHttpHeaders } from "node:http";
import * as v from "valibot";
import { z } from "zod";
import {
  App,
  bearerAuth,
  HttpResponse,
  type SluiceRequest,
  type ValidatedRequest,
} from "../../src/index.js";

/** True only when A and B are the same type (not merely assignable one to the other). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
function expectType<Check extends true>(_check?: Check): void {}

const zodOrder = z.object({
  item: z.string(),
  quantity: z.coerce.number().int(),
  note: z.string().optional(),
});
const valibotOrder = v.object({
  item: v.string(),
  quantity: v.pipe(v.string(), v.transform(Number)),
});
type Order = { item: string; quantity: number; note?: string | undefined };

export function zodRoutes(app = new App({ logger: false })) {
  app.post(
    "/shops/:shop/orders",
    {
      body: zodOrder,
      query: z.object({ dryRun: z.enum(["yes", "no"]).default("no") }),
      headers: z.object({ "idempotency-key": z.string().uuid() }),
      response: z.object({ id: z.number(), item: z.string() }),
    },
    (req) => {
      expectType<Equal<typeof req.body, Order>>();
      expectType<Equal<typeof req.query, { dryRun: "yes" | "no" }>>();
      expectType<Equal<(typeof req.headers)["idempotency-key"], string>>();
      // No params schema: the path's own params.
      expectType<Equal<typeof req.params, { shop: string }>>();
      // @ts-expect-error: the body has no field "itme"
      req.body.itme;
      // @ts-expect-error: with a query schema, the query is a record, not URLSearchParams
      req.query.get("dryRun");
      // Headers the schema does not declare are still Node's.
      expectType<Equal<typeof req.headers.cookie, string | undefined>>();
      return { id: req.body.quantity, item: req.body.item };
    },
  );

  app.get("/orders/:id", { params: z.object({ id: z.coerce.number() }) }, (req) => {
    expectType<Equal<typeof req.params, { id: number }>>();
    // Members the schemas do not replace are SluiceRequest's.
    expectType<Equal<typeof req.query, URLSearchParams>>();
    expectType<Equal<typeof req.headers, IncomingHttpHeaders>>();
    req.signal.throwIfAborted();
    return { id: req.params.id };
  });

  const response = z.object({ ok: z.boolean() });
  app.get("/async", { response }, async () => ({ ok: true }));
  app.get("/own-response", { response }, () =>
    HttpResponse.json({ anything: 1 }, { statusCode: 202 }),
  );
  app.get(
    "/wrong",
    { response },
    // @ts-expect-error: "yes" is not a boolean
    () => ({ ok: "yes" }),
  );
  app.get(
    "/wrong-async",
    { response },
    // @ts-expect-error: a missing field, in a promise too
    async () => ({}),
  );
  // The handler returns what the response schema takes in (its input), sent as it is.
  app.get(
    "/input",
    { response: z.object({ at: z.string().transform((s) => new Date(s)) }) },
    () => ({
      at: "2024-01-01",
    }),
  );

  // @ts-expect-error: "bdy" is not a schema a route declares
  app.post("/typo", { bdy: zodOrder }, () => "x");

  // A request with only a body schema is still a SluiceRequest, for helpers that take one.
  const takesRequest = (req: SluiceRequest) => req.id;
  app.put("/plain-ok", { body: zodOrder }, (req) => takesRequest(req));
  return app;
}

export function valibotRoutes(app = new App({ logger: false })) {
  app.patch(
    "/orders/:id",
    { body: valibotOrder, params: v.object({ id: v.pipe(v.string(), v.transform(Number)) }) },
    (req) => {
      expectType<Equal<typeof req.body, { item: string; quantity: number }>>();
      expectType<Equal<typeof req.params.id, number>>();
      // @ts-expect-error: the body has no field "note" in this schema
      req.body.note;
      return req.body.quantity * 2;
    },
  );
  app.delete(
    "/orders/:id",
    { response: v.object({ deleted: v.literal(true) }) },
    // @ts-expect-error: false is not the literal true
    () => ({ deleted: false }),
  );
  app.head("/h", { query: v.object({ q: v.string() }) }, (req) => req.query.q);
  app.options("/o", { headers: v.object({ origin: v.string() }) }, (req) => req.headers.origin);
  app.all("/any/:thing", { body: v.optional(valibotOrder) }, (req) => {
    expectType<Equal<typeof req.body, { item: string; quantity: number } | undefined>>();
    return req.params.thing;
  });
  app.route("PUT", "/route/:key", { body: valibotOrder }, (req) => req.params.key, "put-route");
  return app;
}

/** State from typed middleware, params from a group's prefix: both carry into typed routes. */
export function stateAndGroups() {
  const app = new App({ logger: false }).use(
    bearerAuth<{ name: string }>({ verify: (token) => (token ? { name: token } : undefined) }),
  );
  app.post("/me", { body: z.object({ bio: z.string() }) }, (req) => {
    expectType<Equal<typeof req.state.auth, { name: string }>>();
    return { name: req.state.auth.name, bio: req.body.bio };
  });
  app.group("/orgs/:org", (org) => {
    org.post("/members", { body: valibotOrder }, (req) => {
      expectType<Equal<typeof req.params.org, string>>();
      expectType<Equal<typeof req.state.auth, { name: string }>>();
      // @ts-expect-error: the prefix declares no :team
      req.params.team;
      return req.body.item;
    });
  });
  return app;
}

// The request type users can name for a handler written apart from its route.
type OrderRequest = ValidatedRequest<{ id: string }, object, { body: typeof zodOrder }>;
export const describeOrder = (req: OrderRequest) => `${req.params.id}: ${req.body.item}`;

/**
 * Head schemas that could never accept what their part of the request holds fail to compile
 * (each would answer 400 to every request, blaming the client); those that coerce or
 * transform the strings compile.
 */
export function headSchemasThatCannotPass(app = new App({ logger: false })) {
  // @ts-expect-error: the path has :id, the schema wants userId
  app.get("/users/:id", { params: z.object({ userId: z.string() }) }, () => "x");
  // @ts-expect-error: a path param is a string, never a number
  app.get("/users/:id", { params: z.object({ id: z.number() }) }, () => "x");
  // @ts-expect-error: the same with valibot
  app.get("/users/:id", { params: v.object({ userId: v.string() }) }, () => "x");
  app.group("/orgs/:org", (org) => {
    // @ts-expect-error: the group's prefix counts: the params are { org, id }, not { org, team }
    org.get("/users/:id", { params: z.object({ org: z.string(), team: z.string() }) }, () => "x");
    org.get("/users/:id", { params: z.object({ org: z.string(), id: z.coerce.number() }) }, (req) =>
      req.params.id.toFixed(),
    );
  });
  // @ts-expect-error: a query value is a string (or a list of them), never a number
  app.get("/q", { query: z.object({ n: z.number() }) }, () => "x");
  // @ts-expect-error: nor a boolean, with valibot
  app.get("/q", { query: v.object({ flag: v.boolean() }) }, () => "x");
  // @ts-expect-error: the query is a record, not a string
  app.get("/q", { query: z.string() }, () => "x");
  // @ts-expect-error: Node gives header names in lower case
  app.get("/h", { headers: z.object({ "X-Api-Key": z.string() }) }, () => "x");
  // @ts-expect-error: the same with valibot
  app.get("/h", { headers: v.object({ Authorization: v.string() }) }, () => "x");
  // @ts-expect-error: a header value is text
  app.get("/h", { headers: z.object({ "x-count": z.number() }) }, () => "x");

  // What can pass compiles: coercion, transforms, enums, lists, optional fields, unknown.
  app.get("/users/:id", { params: z.object({ id: z.coerce.number() }) }, (req) => req.params.id);
  app.get(
    "/users/:id",
    { params: v.object({ id: v.pipe(v.string(), v.transform(Number)) }) },
    (req) => req.params.id,
  );
  app.get("/users/:id/:tab", { params: z.object({ id: z.string() }) }, (req) => req.params.id);
  app.get(
    "/q",
    {
      query: z.object({
        n: z.coerce.number(),
        sort: z.enum(["asc", "desc"]).optional(),
        tag: z.array(z.string()).optional(),
        any: z.unknown(),
      }),
      headers: z.object({ "x-count": z.coerce.number(), "x-api-key": z.string().optional() }),
    },
    (req) => req.query.n + req.headers["x-count"],
  );
  app.get(
    "/q",
    { query: v.object({ page: v.optional(v.pipe(v.string(), v.transform(Number)), "1") }) },
    (req) => req.query.page,
  );
  // A path not known statically: its params cannot be checked.
  const dynamic: string = "/d/:x";
  app.get(dynamic, { params: z.object({ anything: z.string() }) }, (req) => req.params.anything);
  return app;
}
