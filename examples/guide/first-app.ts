// The smallest useful sluice app: a middleware, a JSON route, a validated POST and a server
// that shuts down gracefully on Ctrl-C. Run it with `npx tsx examples/guide/first-app.ts`.
import { pathToFileURL } from "node:url";
import { App, HttpError } from "sluice";

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

// Listens when run directly; a test that imports this file only builds the app.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await createFirstApp().listen({ handleSignals: true });
}
