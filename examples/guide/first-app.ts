// The smallest useful sluice app: a middleware, a JSON route, a validated POST and a server
// that shuts down gracefully on Ctrl-C. Run it with `npx tsx examples/guide/first-app.ts`.
import { App, HttpError } from "../../src/index.js";
import { runIfMain } from "../run-if-main.js";

export function createFirstApp(app = new App()): App {
  app.use(async (req, next) => {
    const started = performance.now();
    try {
      return await next(); // what the handler returned (or threw)
    } finally {
      req.log.info({ ms: Math.round(performance.now() - started) }, "request handled");
    }
  });

  app.get("/hello/:name", (req) => ({ hello: req.params.name })); // an object: 200 JSON

  app.post("/notes", async (req) => {
    const { text } = await req.json<{ text?: unknown }>(); // 400 on malformed JSON
    if (typeof text !== "string" || text === "") throw new HttpError(422, "text is required");
    return { saved: text };
  });
  return app;
}

await runIfMain(import.meta.url, () => createFirstApp());
