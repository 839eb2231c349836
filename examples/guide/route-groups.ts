// An app organised as users grow one: a public part, an admin part behind its own guard,
// params and the signed-in user typed without casts, and a ticker the app starts when it
// listens and stops when it closes.
import { pathToFileURL } from "node:url";
import { App, bearerAuth, HttpError } from "sluice";

export interface User {
  name: string;
  admin: boolean;
}

const SESSIONS = new Map<string, User>([
  ["t-ada", { name: "ada", admin: true }],
  ["t-bob", { name: "bob", admin: false }],
]);

export function createRouteGroupsApp(app = new App(), { tickMs = 1000 } = {}): App {
  // #region groups
  app.get("/status", () => ({ ok: true })); // public

  app.group("/admin", (admin) =>
    admin
      // Guards /admin, everything under it (404s included) and nothing else.
      .use(bearerAuth({ verify: (token) => SESSIONS.get(token) }))
      .use((req, next) => {
        // Chained after bearerAuth: req.state.auth is a User here and in the routes below.
        if (!req.state.auth.admin) throw new HttpError(403, "Admins only");
        return next();
      })
      .get("/whoami", (req) => ({ name: req.state.auth.name }))
      .get("/users/:name", (req) => {
        const user = [...SESSIONS.values()].find((one) => one.name === req.params.name);
        if (!user) throw new HttpError(404, `No user ${req.params.name}`);
        return user;
      })
      .sse("/ticks", (req) => app.subscribe("ticks", { signal: req.signal })),
  );
  // #endregion

  // #region hooks
  let ticker: NodeJS.Timeout | undefined;
  let count = 0;
  app.onListen(({ url }) => {
    app.logger.info({ url }, "ticker started");
    ticker = setInterval(() => {
      app.publish("ticks", { count: ++count }).catch((error) => {
        app.logger.error({ err: error }, "tick not published");
      });
    }, tickMs);
    ticker.unref(); // a timer alone must not keep the process alive
  });
  // Runs after the streams have ended and before the broker closes.
  app.onClose(() => clearInterval(ticker));
  // #endregion
  return app;
}

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createRouteGroupsApp().listen({ handleSignals: true });
}
