/*
 * Compile-time checks of the types handlers get (issue 19, point 8): `npm run typecheck`
 * compiles this file with the repo's options, and test/typed-routes.test.ts compiles it
 * again with `noUncheckedIndexedAccess`, as users who set it do. A `@ts-expect-error` line
 * whose error went away fails both. `typedApp()` is also run, by that test, to show that the
 * values the types promise are there.
 */
import type { JWTPayload } from "jose";
import {
  App,
  apiKeyAuth,
  bearerAuth,
  type Handler,
  type Middleware,
  type PathParams,
  type SluiceRequest,
  type SluiceWebSocket,
} from "../../src/index.js";
import { jwtAuth } from "../../src/jwt/index.js";
import { TestClient } from "../../src/testing/index.js";

/** True only when A and B are the same type (not merely assignable one to the other). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
function expectType<Check extends true>(_check?: Check): void {}

export interface User {
  name: string;
  admin: boolean;
}
const users = new Map<string, User>([["t-ada", { name: "ada", admin: true }]]);
const verify = (token: string) => users.get(token);

// What PathParams makes of a path.
expectType<Equal<PathParams<"/users/:id">, { id: string }>>();
expectType<Equal<PathParams<"/orgs/:org/files/*">, { org: string; "*": string }>>();
expectType<Equal<keyof PathParams<"/health">, never>>();
expectType<Equal<PathParams<string>, Record<string, string>>>();

/** Routes of every kind whose handlers use their params and state with no cast or `!`. */
export function typedApp(app = new App({ logger: false })) {
  app.get("/users/:id", (req) => {
    expectType<Equal<typeof req.params.id, string>>();
    // @ts-expect-error: "/users/:id" has no param "name"
    req.params.name;
    return { id: req.params.id };
  });
  app.get("/files/*", (req) => ({ rest: req.params["*"] }));
  app.post("/orgs/:org/teams/:team", (req) => ({ org: req.params.org, team: req.params.team }));
  app.all("/any/:thing", (req) => ({ thing: req.params.thing }));
  app.route("PUT", "/route/:key", (req) => ({ key: req.params.key }));
  app.sse("/feeds/:feed", async function* (req) {
    yield { feed: req.params.feed };
  });
  app.sse("/slow/:feed", { retry: 1000 }, (req) => [req.params.feed]);
  app.websocket("/rooms/:room", async (socket, req) => {
    expectType<Equal<typeof socket.request.params.room, string>>();
    await socket.sendJson({ room: socket.request.params.room, same: req.params.room });
  });
  app.websocket("/echo/:tag", { heartbeat: 0 }, async (socket) => {
    // The socket is still a SluiceWebSocket: it goes where one is expected.
    const plain: SluiceWebSocket = socket;
    await plain.send(socket.request.params.tag);
  });

  // Untyped state stays open: any key may be set and read, as `unknown`.
  app.use((req, next) => {
    req.state.user = "alice";
    return next();
  });
  app.get("/state", (req) => {
    expectType<Equal<typeof req.state.user, unknown>>();
    return { user: req.state.user };
  });

  // A path only known at run time: any param, `string` (`string | undefined` with
  // noUncheckedIndexedAccess, which is right: nothing says which params it has).
  const dynamic: string = "/dynamic/:what";
  app.get(dynamic, (req) => ({ what: req.params.what ?? "none" }));

  // A handler written apart, for any route.
  const anyRoute: Handler = (req) => ({ path: req.path });
  app.get("/apart/:x", anyRoute);
  return app;
}

/** The principal of the auth helpers reaches `req.state.auth`, chained. */
export function chainedAuthApp() {
  const app = new App({ logger: false })
    .use(bearerAuth({ verify }))
    .use((req, next) => {
      // Middleware chained after it sees the principal too.
      expectType<Equal<typeof req.state.auth, User>>();
      return next();
    })
    .get("/me", (req) => {
      expectType<Equal<typeof req.state.auth, User>>();
      return { name: req.state.auth.name };
    })
    .websocket("/ws/:room", async (socket) => {
      expectType<Equal<typeof socket.request.state.auth, User>>();
      await socket.sendJson({ name: socket.request.state.auth.name });
    });
  app.sse("/events", (req) => [req.state.auth.name]);
  return app;
}

/** The statement form: `app` was declared with its state. */
export function declaredStateApp() {
  const app = new App<{ auth: User }>({ logger: false });
  app.use(bearerAuth({ verify }));
  app.get("/me", (req) => {
    expectType<Equal<typeof req.state.auth, User>>();
    // Other keys are still open, as unknown.
    req.state.visited = true;
    return req.state.auth.admin;
  });
  app.websocket("/ws", (socket, req) => {
    expectType<Equal<typeof req.state.auth, User>>();
    expectType<Equal<typeof socket.request.state.auth, User>>();
  });
  // Wrong principal type: refused.
  // @ts-expect-error: auth is a User, not a string
  app.get("/wrong", (req) => (req.state.auth = "nobody"));
  return app;
}

/** Groups: prefix params reach the routes, group middleware types the group's routes. */
export function groupApp() {
  const app = new App({ logger: false });
  app.group("/orgs/:org", (org) => {
    org.get("/members/:member", (req) => {
      expectType<Equal<typeof req.params, { org: string; member: string }>>();
      return { org: req.params.org, member: req.params.member };
    });
    org.sse("/feed", (req) => [req.params.org]);
    org.websocket("/live", (socket) => socket.send(socket.request.params.org));
    org.group("/teams/:team", (team) => {
      team.get("/", (req) => ({ org: req.params.org, team: req.params.team }));
    });
    org
      .use(bearerAuth({ verify }))
      .get("/settings", (req) => ({ org: req.params.org, by: req.state.auth.name }));
  });
  app.group("/admin", (admin) => {
    admin.use(bearerAuth({ verify }));
    admin.get("/", (req) => {
      // Statement form inside a group: no type change (chain it, or declare the App's state).
      expectType<Equal<typeof req.state.auth, unknown>>();
      return "admin";
    });
  });
  // @ts-expect-error: "/orgs/:org" routes have no param "nope"
  app.group("/orgs/:org", (org) => org.get("/x", (req) => req.params.nope));
  return app;
}

// The other auth helpers.
const keyed = new App().use(apiKeyAuth({ keys: ["k1"] }));
keyed.get("/", (req) => {
  expectType<Equal<typeof req.state.auth, { keyIndex: number }>>();
});
new App()
  .use(apiKeyAuth({ keys: new Map([["k", { client: "partner" }]]) }))
  .get("/", (req) => req.state.auth.client);
new App().use(jwtAuth({ secret: "x".repeat(32), algorithms: ["HS256"] })).get("/", (req) => {
  expectType<Equal<typeof req.state.auth, JWTPayload>>();
});
interface Claims extends JWTPayload {
  tenant: string;
}
new App()
  .use(jwtAuth<Claims>({ secret: "x".repeat(32), algorithms: ["HS256"] }))
  .get("/", (req) => req.state.auth.tenant);

// A middleware of one's own declares what it adds.
const tenant: Middleware<{ tenant: string }> = (req, next) => {
  req.state.tenant = req.header("x-tenant") ?? "default";
  return next();
};
new App().use(tenant).get("/", (req) => {
  expectType<Equal<typeof req.state.tenant, string>>();
});
// One that declares nothing leaves the app's type as it was.
expectType<Equal<ReturnType<typeof untyped>, App>>();
function untyped() {
  return new App().use((_req, next) => next());
}

// A typed app still goes where an App is expected.
export async function startTyped(): Promise<TestClient> {
  return TestClient.start(chainedAuthApp());
}

// A typed request still goes where a plain SluiceRequest is expected.
const describeRequest = (req: SluiceRequest) => req.path;
new App<{ auth: User }>().get("/users/:id", (req) => describeRequest(req));
