// Middleware that adds nothing to req.state keeps use() returning `this`: subclasses and
// generic helpers written before typed state still compile (checked by `npm run typecheck`).
import { App, bearerAuth, cors, type Middleware } from "../../src/index.js";

class HealthApp extends App {
  health(): this {
    return this.get("/health", () => ({ ok: true }));
  }
}

export const chained: HealthApp = new HealthApp().use(cors()).health();

export function withCors<T extends App>(app: T): T {
  return app.use(cors());
}

const logRequests: Middleware = (_req, next) => next();
export const same: HealthApp = new HealthApp().use(logRequests).use("/admin/*", logRequests);

// Typed middleware still gives the typed app.
interface User {
  name: string;
}
export const typed = new App()
  .use(bearerAuth<User>({ verify: () => ({ name: "ada" }) }))
  .get("/me", (req) => req.state.auth.name satisfies string);

export const grouped = new App().group("/admin", (admin) => {
  const same: typeof admin = admin.use(cors());
  same.get("/x", () => "x");
});
